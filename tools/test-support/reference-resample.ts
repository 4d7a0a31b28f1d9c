// imgstore's resampler written out plainly from its definition (packages/image/src/resample.ts), with
// none of its code: tests compare the SIMD kernels, and whole conversions, with this.

const ONE = 1 << 14;

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= 3) return 0;
  return (3 * Math.sin(Math.PI * x) * Math.sin((Math.PI * x) / 3)) / (Math.PI * x) ** 2;
}

/** For each output pixel along one axis: the source indices and Q14 weights it sums. */
export function referenceAxis(length: number, n: number, f: number): { first: number; weights: number[] }[] {
  const stretch = Math.max(f, 1);
  const support = 3 * stretch;
  const taps = Math.min(length, Math.ceil(2 * support));
  return Array.from({ length: n }, (_, i) => {
    const u = (i + 0.5) * f - 0.5 + (length - n * f) / 2;
    const first = Math.min(Math.max(Math.floor(u - support) + 1, 0), length - taps);
    const real = Array.from({ length: taps }, (_, k) => lanczos3((first + k - u) / stretch));
    const sum = real.reduce((a, b) => a + b, 0);
    const weights = real.map((w) => Math.round((w / sum) * ONE));
    const nearest = Math.min(taps - 1, Math.max(0, Math.round(u) - first));
    weights[nearest]! += ONE - weights.reduce((a, b) => a + b, 0);
    return { first, weights };
  });
}

const clamp = (sum: number) => Math.min(255, Math.max(0, Math.floor((sum + ONE / 2) / ONE)));

export type ReferenceTarget = { width: number; height: number; fit: 'cover' | 'fill' } | { shorterSide: number };

/** RGB uint8 pixels resampled as resample.ts defines it: rows first, then columns, each rounded. */
export function referenceResample(pixels: Uint8Array, width: number, height: number, target: ReferenceTarget) {
  let outW: number;
  let outH: number;
  let fx: number;
  let fy: number;
  if ('shorterSide' in target) {
    const s = Math.min(width, height) / target.shorterSide;
    outW = width <= height ? target.shorterSide : Math.round(width / s);
    outH = width <= height ? Math.round(height / s) : target.shorterSide;
    fx = width / outW;
    fy = height / outH;
  } else {
    outW = target.width;
    outH = target.height;
    const s = Math.min(width / outW, height / outH);
    fx = target.fit === 'cover' ? s : width / outW;
    fy = target.fit === 'cover' ? s : height / outH;
  }
  const rows = referenceAxis(height, outH, fy);
  const columns = referenceAxis(width, outW, fx);
  const tmp = new Uint8Array(outH * width * 3);
  for (let r = 0; r < outH; r++) {
    const { first, weights } = rows[r]!;
    for (let x = 0; x < width * 3; x++) {
      let sum = 0;
      weights.forEach((w, k) => (sum += w * pixels[(first + k) * width * 3 + x]!));
      tmp[r * width * 3 + x] = clamp(sum);
    }
  }
  const out = new Uint8Array(outH * outW * 3);
  for (let r = 0; r < outH; r++) {
    for (let c = 0; c < outW; c++) {
      const { first, weights } = columns[c]!;
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        weights.forEach((w, k) => (sum += w * tmp[(r * width + first + k) * 3 + ch]!));
        out[(r * outW + c) * 3 + ch] = clamp(sum);
      }
    }
  }
  return { data: out, width: outW, height: outH };
}
