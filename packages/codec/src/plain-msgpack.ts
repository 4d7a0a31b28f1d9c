import { Packr, Unpackr } from 'msgpackr';

// `useRecords: false`: plain msgpack maps that any msgpack reader (Python's msgpack included) decodes.
const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Standard msgpack, no msgpackr extensions: the encoding of every structure in a store. */
export function packPlain(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes standard msgpack. Binary values come back as views into `bytes`. Throws on malformed input. */
export function unpackPlain(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes as Buffer);
}
