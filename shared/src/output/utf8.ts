/** UTF-8 helpers for cutting byte streams without splitting a character. */

/** True for a UTF-8 continuation byte (10xxxxxx). */
export function isUtf8Continuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/**
 * The largest length <= max at which `bytes` can be cut without splitting a UTF-8 character:
 * if the byte at `max` continues a character, the cut moves back to where that character starts
 * (at most 3 bytes). Bytes that are not valid UTF-8 are cut at `max` as they are.
 */
export function utf8SafeCut(bytes: Uint8Array, max: number): number {
  if (max >= bytes.length) return bytes.length;
  if (max <= 0) return 0;
  let cut = max;
  for (let back = 0; back < 3 && cut > 0 && isUtf8Continuation(bytes[cut]!); back++) cut--;
  // Only move back onto a lead byte; otherwise (invalid input) keep the plain cut.
  return cut > 0 && isUtf8Continuation(bytes[cut]!) ? max : bytes[cut]! >= 0xc0 || cut === max ? cut : max;
}
