// Decode rate of the JPEG decoders measured for @imgstore/codec-jpeg, on one core, with pixels compared
// against native libjpeg-turbo. The candidates are not repo dependencies: install them in a scratch
// project and run from there (see the package README, "Choosing the decoder"):
//   npm i @julusian/jpeg-turbo@2.3.0 @cwasm/jpeg-turbo @jsquash/jpeg jpeg-js sharp @napi-rs/image @cornerstonejs/codec-libjpeg-turbo-8bit
//   UV_THREADPOOL_SIZE=1 ROUNDS=5 taskset -c 1 node <repo>/packages/codec-jpeg/bench/decode-rate.mjs <dir of .jpg> [seconds per round]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const require = createRequire(join(process.cwd(), 'package.json')); // the scratch project's packages
const dir = process.argv[2];
const seconds = Number(process.argv[3] ?? 3);
const only = process.argv[4];
const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => readFileSync(join(dir, f)));
const info = (b) => { let i = 2; while (i < b.length) { const m = b[i + 1]; const len = b.readUInt16BE(i + 2); if (m >= 0xc0 && m <= 0xc2) return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) }; i += 2 + len; } };
const dims = files.map(info);
const maxBytes = Math.max(...dims.map((d) => d.w * d.h * 3));
const target = new Uint8Array(maxBytes + 64);

// rgba → rgb into target (the copy a library without RGB output costs)
function rgbaInto(src, dst, off, n) { for (let p = 0, q = off; p < n * 4; p += 4, q += 3) { dst[q] = src[p]; dst[q + 1] = src[p + 1]; dst[q + 2] = src[p + 2]; } }

const decoders = {};
{ const t = require('@julusian/jpeg-turbo'); decoders['@julusian/jpeg-turbo (native)'] = (b, d) => { t.decompressSync(b, Buffer.from(target.buffer, 7, d.w * d.h * 3), { format: t.FORMAT_RGB }); }; }
{ const c = require('@cwasm/jpeg-turbo'); decoders['@cwasm/jpeg-turbo decode() (RGBA)'] = (b, d) => { const img = c.decode(b); rgbaInto(img.data, target, 7, d.w * d.h); }; }
{ // the same wasm driven directly: TJPF_RGB into wasm memory, one copy out
  const code = readFileSync(require.resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm'));
  const stub = () => 0;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { setjmp: () => 0, longjmp: () => { throw new Error('jpeg error'); } }, wasi_snapshot_preview1: { environ_sizes_get: stub, environ_get: stub, proc_exit: stub, fd_close: stub, fd_seek: stub, fd_write: stub } });
  const x = inst.exports; const h = x.tjInitDecompress();
  for (const [flag, label] of [[0, ''], [2048, ', FASTDCT']]) decoders[`@cwasm/jpeg-turbo wasm, RGB (direct${label})`] = (b, d) => {
    const n = d.w * d.h * 3; const ip = x.malloc(b.length); const op = x.malloc(n);
    new Uint8Array(x.memory.buffer, ip, b.length).set(b);
    const rc = x.tjDecompress2(h, ip, b.length, op, d.w, 0, d.h, 0 /* TJPF_RGB */, flag);
    if (rc !== 0) throw new Error('decode failed');
    target.set(new Uint8Array(x.memory.buffer, op, n), 7); x.free(ip); x.free(op);
  };
}
{ const factory = (await import(pathToFileURL(require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.js')).href)).default;
  const wasm = new WebAssembly.Module(readFileSync(require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm')));
  const M = { noInitialRun: true, instantiateWasm: (im, cb) => { const i = new WebAssembly.Instance(wasm, im); cb(i); return i.exports; } };
  factory(M);
  decoders['@jsquash/jpeg (mozjpeg wasm, RGBA)'] = (b, d) => { const img = M.decode(b, false); rgbaInto(img.data, target, 7, d.w * d.h); };
}
{ const jpeg = require('jpeg-js'); decoders['jpeg-js (pure JS)'] = (b, d) => { const img = jpeg.decode(b, { formatAsRGBA: false, useTArray: true }); target.set(img.data, 7); }; }
{ const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
  const wasm = new WebAssembly.Module(readFileSync(require.resolve('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm')));
  const M = { instantiateWasm: (im, cb) => { const i = new WebAssembly.Instance(wasm, im); cb(i); return i.exports; } };
  factory(M);
  const dec = new M.JPEGDecoder();
  decoders['@cornerstonejs/codec-libjpeg-turbo-8bit'] = (b, d) => {
    dec.getEncodedBuffer(b.length).set(b); dec.decode();
    target.set(dec.getDecodedBuffer(), 7);
  };
}
{ const { Transformer } = require('@napi-rs/image'); decoders['@napi-rs/image (native)'] = (b, d) => { target.set(new Transformer(b).rawPixelsSync(), 7); }; }
const sharp = require('sharp'); sharp.concurrency(1); sharp.cache(false);
decoders['sharp (reference, async)'] = async (b) => { await sharp(b).raw().toBuffer(); };

// Pixels of each decoder vs libjpeg-turbo (native) on every file: max and mean absolute difference.
const refs = files.map((b, i) => { decoders[Object.keys(decoders)[0]](b, dims[i]); return target.slice(7, 7 + dims[i].w * dims[i].h * 3); });
for (const [name, fn] of Object.entries(decoders)) {
  if (name.startsWith('sharp')) continue;
  let max = 0, sum = 0, count = 0;
  for (let i = 0; i < files.length; i++) { target.fill(0); await fn(files[i], dims[i]); const ref = refs[i]; for (let j = 0; j < ref.length; j++) { const d = Math.abs(ref[j] - target[7 + j]); if (d > max) max = d; sum += d; } count += ref.length; }
  console.log(`${name.padEnd(40)} pixels vs native: max ${max}, mean ${(sum / count).toFixed(4)}`);
}
const rounds = Number(process.env.ROUNDS ?? 5);
const rates = {};
for (const [name, fn] of Object.entries(decoders)) for (let i = 0; i < files.length; i++) { const r = fn(files[i], dims[i]); if (r) await r; } // warm up
// Rounds alternate the decoders so that load from other processes hits them alike; best and median reported.
for (let round = 0; round < rounds; round++) {
  for (const [name, fn] of Object.entries(decoders)) {
    if (only && !name.includes(only)) continue;
    let n = 0; const start = performance.now(); let now = start;
    while (now - start < seconds * 1000) { for (let i = 0; i < files.length; i++) { const r = fn(files[i], dims[i]); if (r) await r; } n += files.length; now = performance.now(); }
    (rates[name] ??= []).push((n * 1000) / (now - start));
  }
}
const base = Object.keys(rates)[0];
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [name, r] of Object.entries(rates)) {
  console.log(`${name.padEnd(40)} best ${Math.max(...r).toFixed(0).padStart(6)}/s  median ${med(r).toFixed(0).padStart(6)}/s  ${(med(r) / med(rates[base])).toFixed(2)}x of ${base.split(' ')[0]}`);
}
