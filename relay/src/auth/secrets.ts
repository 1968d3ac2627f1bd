/** Generation and hashing of API tokens and agent credentials (formats in @rexec/shared). */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { TOKEN_PREFIX, secretDisplayPrefix } from '@rexec/shared';

export function newSecret(kind: keyof typeof TOKEN_PREFIX): { secret: string; hash: string; prefix: string } {
  const secret = TOKEN_PREFIX[kind] + randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret), prefix: secretDisplayPrefix(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random id usable in frames, URLs and command lines: letters and digits only, so it never
 * starts with "-" (which a CLI would take for an option).
 */
export function newId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url').replace(/[-_]/g, () => ALNUM[randomInt(ALNUM.length)]!);
}
