const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A name's bytes as text, each byte that is not part of valid UTF-8 shown as `%XX`. Names are bytes (a
 * folder written by another system's encoding, a tar member): this keeps the file stored under a readable
 * name instead of losing it to a lossy decode that no longer opens it.
 */
export function escapeStrayBytes(bytes: Uint8Array): string {
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
