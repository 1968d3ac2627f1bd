/**
 * Secret formats. A prefix tells a leaked secret's kind at a glance and lets scanners find it;
 * the rest is 32 random bytes in base64url. Only SHA-256 hashes are stored (the secrets are
 * high-entropy, so a slow hash adds nothing).
 */
export const TOKEN_PREFIX = {
  apiToken: 'rxt_',
  agentCredential: 'rxa_',
  /** Single-use, short-lived: registers one agent, nothing else. */
  enrollment: 'rxe_',
  /** A share link to one terminal session; expires, revocable. */
  share: 'rxs_',
} as const;

const SECRET_RE = /^rx[taes]_[A-Za-z0-9_-]{43}$/;

export function looksLikeSecret(s: string): boolean {
  return SECRET_RE.test(s);
}

/** Shown in lists so a person can tell tokens apart without the secret: `rxt_AbCd…`. */
export function secretDisplayPrefix(secret: string): string {
  return secret.slice(0, 8);
}
