/**
 * Encryption at rest for secrets the relay must give back to itself later (profile variables
 * such as API keys, the launch spec of a queued run): AES-256-GCM with a 32-byte key.
 *
 * The key comes from REXEC_SECRET_KEY (base64 of 32 bytes; set the same value on every relay
 * that shares a PostgreSQL database) or else from <data dir>/secret.key, created with mode 0600
 * on first start. Ciphertext format: "v1:" + base64(iv[12] | tag[16] | ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PREFIX = 'v1:';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** Throws when the value was not sealed with this key or was altered. */
  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new Error('sealed value too short');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}

/** The relay's key: REXEC_SECRET_KEY, else <dataDir>/secret.key (created 0600 if missing). */
export function loadSecretBox(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
  const fromEnv = env.REXEC_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new Error('REXEC_SECRET_KEY must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)');
    return new SecretBox(key);
  }
  const file = path.join(dataDir, 'secret.key');
  try {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`);
    return new SecretBox(key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(32);
  try {
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another relay process on the same data dir won the race: use its key.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadSecretBox(dataDir, env);
    throw err;
  }
  return new SecretBox(key);
}
