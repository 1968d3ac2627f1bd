/**
 * Webhook signatures. Each attempt carries
 *   X-Rexec-Timestamp: <unix seconds>
 *   X-Rexec-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 * A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses
 * timestamps too far from its clock (replays).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function signPayload(secret: string, timestamp: number, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** True when `signature` is valid for the body and the timestamp is within `toleranceSec` of `nowSec`. */
export function verifySignature(secret: string, timestamp: string | number, body: string, signature: string, nowSec = Math.floor(Date.now() / 1000), toleranceSec = 300): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSec - ts) > toleranceSec) return false;
  const want = Buffer.from(signPayload(secret, ts, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export function newWebhookSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64url');
}
