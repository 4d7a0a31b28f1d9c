import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { InputError } from '@imgstore/core';

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
  /** Called for each hidden member skipped. */
  onHidden?: (path: string) => void;
  /** Ends the reading between two groups. */
  signal?: AbortSignal;
}

const FILE_TYPES = new Set(['file', 'contiguous-file']);
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
  for (const shard of shards) {
    const seen = new Set<string>();
    let group: WebDatasetGroup | null = null;
    for await (const entry of tarEntries(shard)) {
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
      const data = isFileMember && keep(ext) ? await entry.read() : (await entry.drain(), null);
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
      else if (ext === '') group.problem ??= `member ${path} has no extension (WebDataset names members <key>.<ext>)`;
    }
    if (group) yield group;
  }
}

interface TarEntry {
  header: Header;
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
function memberPath(header: Header): string {
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

function escapeStrayBytes(bytes: Uint8Array): string {
  let name = '';
  for (let i = 0; i < bytes.length; ) {
    let taken = 0;
    // The longest valid UTF-8 character starting here (1 to 4 bytes), else one stray byte.
    for (let n = 1; n <= 4 && i + n <= bytes.length && taken === 0; n++) {
      try {
        name += utf8.decode(bytes.subarray(i, i + n));
        taken = n;
      } catch {
        // not a whole character yet
      }
    }
    if (taken === 0) {
      name += `%${bytes[i]!.toString(16).toUpperCase().padStart(2, '0')}`;
      taken = 1;
    }
    i += taken;
  }
  return name;
}
