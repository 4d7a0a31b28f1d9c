import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { InputError } from '@imgstore/core';
import { escapeStrayBytes } from './stray-bytes.js';

/** One WebDataset sample: the tar members that share a key, in the order the shard holds them. */
export interface WebDatasetGroup {
  /** Path of the shard (as given) the members came from. */
  shard: string;
  /** Member path up to the first dot of its file name (WebDataset's rule): `train/n0144/img_7`. */
  key: string;
  /** Extensions (after that first dot, lower-cased) in member order, with the body where it was kept. */
  members: { ext: string; data: Uint8Array | null }[];
  /** Why the group cannot be a sample, found while reading (a member twice, a link): a reject. */
  problem: string | null;
}

export interface ReadWebDatasetOptions {
  /** Which members' bodies to keep; the others are read past (still streamed, never written to disk). */
  keep?: (ext: string) => boolean;
  /**
   * Read only the headers and the kept bodies, with positioned reads that seek past the others (a count
   * pass then costs a few reads per sample, not the shards' bytes). A tar this reader does not parse
   * itself (a global pax header, base-256 sizes, an unknown format or type, a truncated or damaged shard)
   * throws UnusualTarError: read it without this option, which streams everything through tar-stream.
   * Default false.
   */
  headersOnly?: boolean;
  /** A member body larger than this is not read: its group is a problem group. Default MAX_MEMBER_BYTES (512 MiB). */
  maxMemberBytes?: number;
  /** Called for each hidden member skipped. */
  onHidden?: (path: string) => void;
  /** Ends the reading between two groups. */
  signal?: AbortSignal;
}

const FILE_TYPES = new Set(['file', 'contiguous-file']);
/** A member body is held in memory whole: larger ones are a problem, not an allocation. */
export const MAX_MEMBER_BYTES = 512 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Streams the samples of tar shards one group at a time, shard after shard, never extracting to disk:
 * at most one group's kept bodies are in memory. Members group by key as WebDataset groups them
 * (consecutive members with the same key); a key that comes back later in the same shard is a problem
 * group of its own, not a merge. Folders and hidden members (a file name starting with `.`, as in the
 * folder scan) are skipped; links, devices and members without an extension become problem groups.
 */
export async function* readWebDataset(shards: readonly string[], options: ReadWebDatasetOptions = {}): AsyncGenerator<WebDatasetGroup> {
  const keep = options.keep ?? (() => true);
  const maxMemberBytes = options.maxMemberBytes ?? MAX_MEMBER_BYTES;
  for (const shard of shards) {
    const seen = new Set<string>();
    let group: WebDatasetGroup | null = null;
    for await (const entry of options.headersOnly ? headerEntries(shard) : tarEntries(shard)) {
      const { header } = entry;
      const path = memberPath(header);
      const file = basename(path);
      if (header.type === 'directory' || file === '' || file.startsWith('.')) {
        if (header.type !== 'directory' && file !== '') options.onHidden?.(path);
        await entry.drain();
        continue;
      }
      const dot = file.indexOf('.');
      const key = dot < 0 ? path : path.slice(0, path.length - file.length + dot);
      const ext = dot < 0 ? '' : file.slice(dot + 1).toLowerCase();
      const isFileMember = FILE_TYPES.has(header.type ?? 'file');
      const tooLarge = isFileMember && header.size > maxMemberBytes;
      const data = isFileMember && !tooLarge && keep(ext) ? await entry.read() : (await entry.drain(), null);
      if (group && group.key === key) {
        if (group.members.some((member) => member.ext === ext)) group.problem ??= `member ${path} is in ${basename(shard)} twice`;
      } else {
        if (group) yield group;
        if (options.signal?.aborted) return;
        group = { shard, key, members: [], problem: null };
        if (seen.has(key)) group.problem = `key ${key} comes back in ${basename(shard)} after other keys (members of a sample must be consecutive)`;
        seen.add(key);
      }
      group.members.push({ ext, data });
      if (!isFileMember) group.problem ??= `member ${path} is a ${header.type}, not a file`;
      else if (tooLarge) group.problem ??= `member ${path} is ${header.size} bytes; at most ${maxMemberBytes}`;
      else if (ext === '') group.problem ??= `member ${path} has no extension (WebDataset names members <key>.<ext>)`;
    }
    if (group) yield group;
  }
}

interface TarEntry {
  header: Pick<Header, 'name' | 'type' | 'size' | 'pax'>;
  read(): Promise<Uint8Array>;
  drain(): Promise<void>;
}

/** The entries of one tar file, streamed; a truncated or malformed tar is an InputError naming the shard. */
async function* tarEntries(shard: string): AsyncGenerator<TarEntry> {
  // latin1 keeps a name's bytes so that memberPath can decode them (tar names are not always UTF-8).
  const tar = extract({ filenameEncoding: 'latin1' } as Parameters<typeof extract>[0]);
  const file = createReadStream(shard);
  file.on('error', (error) => tar.destroy(error));
  file.pipe(tar);
  const failed = (error: unknown) =>
    error instanceof InputError ? error : new InputError(shard, `Cannot read tar shard ${shard}: ${(error as Error).message}`, { cause: error });
  try {
    for await (const entry of tar) {
      yield {
        header: entry.header,
        read: async () => {
          const chunks: Uint8Array[] = [];
          try {
            for await (const chunk of entry) chunks.push(chunk as Uint8Array);
          } catch (error) {
            throw failed(error);
          }
          return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        },
        drain: async () => {
          try {
            for await (const _chunk of entry);
          } catch (error) {
            throw failed(error);
          }
        },
      };
    }
  } catch (error) {
    throw failed(error);
  } finally {
    file.destroy();
    tar.destroy();
  }
}

/**
 * A member's path as text: a pax path is UTF-8 already; a ustar or GNU name is decoded as UTF-8 where its
 * bytes are valid UTF-8, else each byte that is not part of a UTF-8 character becomes `%XX` (as the
 * folder scan names such files), so that no two names become one.
 */
function memberPath(header: TarEntry['header']): string {
  const pax = header.pax as { path?: string } | null | undefined;
  let path = pax?.path ?? header.name;
  if (pax?.path === undefined) {
    const bytes = Buffer.from(header.name, 'latin1');
    try {
      path = utf8.decode(bytes);
    } catch {
      path = escapeStrayBytes(bytes);
    }
  }
  return path.replace(/^(\.\/)+/, '');
}

/** A tar that `headersOnly` leaves to tar-stream (see ReadWebDatasetOptions.headersOnly). */
export class UnusualTarError extends Error {}

const BLOCK = 512;
const TYPES: Record<number, Header['type'] | 'pax-header' | 'gnu-long-path' | 'gnu-long-link-path'> = {
  0: 'file',
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  5: 'directory',
  6: 'fifo',
  7: 'contiguous-file',
  72: 'pax-header', // 'x'
  27: 'gnu-long-link-path', // 'K'
  28: 'gnu-long-path', // 'L'
};

/**
 * The entries of one tar file from its headers, as tar-stream's extract gives them (same names, types,
 * sizes, pax paths), for ustar, GNU and per-entry pax headers; bodies are read only when asked for.
 */
async function* headerEntries(shard: string): AsyncGenerator<TarEntry> {
  // Synchronous positioned reads: a few microseconds each where an asynchronous one costs a thread-pool
  // round trip, which made this pass no faster than streaming the whole shard (measured on page-cached shards).
  const fd = openSync(shard, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const block = Buffer.alloc(BLOCK);
    const readAt = async (position: number, length: number): Promise<Buffer> => {
      if (position + length > fileSize) throw new UnusualTarError('truncated');
      const buffer = length === BLOCK ? block : Buffer.alloc(length);
      if (readSync(fd, buffer, 0, length, position) !== length) throw new UnusualTarError('short read');
      return buffer;
    };
    let position = 0;
    let pax: Record<string, string> | null = null;
    let longPath: string | null = null;
    while (position < fileSize) {
      const buf = await readAt(position, BLOCK);
      position += BLOCK;
      let sum = 8 * 32;
      for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += buf[i]!;
      if (sum === 8 * 32) continue; // an empty block (the end-of-archive marker)
      if (sum !== octal(buf, 148, 8)) throw new UnusualTarError('checksum');
      const ustar = buf.toString('latin1', 257, 263) === 'ustar\0';
      const gnu = buf.toString('latin1', 257, 265) === 'ustar  \0';
      if (!ustar && !gnu) throw new UnusualTarError('format');
      const flag = buf[156] === 0 ? 0 : buf[156]! - 48;
      let type = TYPES[flag];
      if (type === undefined || (buf[124]! & 0x80) !== 0) throw new UnusualTarError('type or size');
      let size = octal(buf, 124, 12);
      let name = cString(buf, 0, 100);
      if (ustar && buf[345]) name = `${cString(buf, 345, 155)}/${name}`;
      if (flag === 0 && name.endsWith('/')) type = 'directory';
      const body = position;
      position += Math.ceil(size / BLOCK) * BLOCK;
      if (position > fileSize) throw new UnusualTarError('truncated');
      if (type === 'pax-header') {
        pax = decodePax(await readAt(body, size));
        continue;
      }
      if (type === 'gnu-long-path') {
        const data = await readAt(body, size);
        longPath = cString(data, 0, data.length);
        continue;
      }
      if (type === 'gnu-long-link-path') continue;
      if (longPath !== null) name = longPath;
      const header: TarEntry['header'] = { name, type, size, pax: null };
      if (pax) {
        if (pax.path) header.name = pax.path;
        if (pax.size) header.size = size = parseInt(pax.size, 10);
        header.pax = pax;
        if (pax.size) position = body + Math.ceil(size / BLOCK) * BLOCK;
      }
      pax = null;
      longPath = null;
      yield {
        header,
        read: () => readAt(body, size).then((data) => (data === block ? Buffer.from(data) : data)),
        drain: async () => undefined,
      };
    }
  } finally {
    closeSync(fd);
  }
}

/** A NUL-terminated field as latin1 (the bytes, as tar-stream reads names here). */
function cString(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 || end > offset + length ? offset + length : end);
}

function octal(buf: Buffer, offset: number, length: number): number {
  const text = cString(buf, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Pax records, `<length> <key>=<value>\n`, UTF-8 (as tar-stream decodes them). */
function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let rest = buf;
  while (rest.length) {
    let i = 0;
    while (i < rest.length && rest[i] !== 32) i++;
    const length = parseInt(rest.toString('utf8', 0, i), 10);
    if (!length) return result;
    const record = rest.toString('utf8', i + 1, length - 1);
    const eq = record.indexOf('=');
    if (eq < 0) return result;
    result[record.slice(0, eq)] = record.slice(eq + 1);
    rest = rest.subarray(length);
  }
  return result;
}
