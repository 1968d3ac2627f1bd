/**
 * Exponential backoff with full jitter (AWS architecture blog): delay n is uniform in
 * [base/2, min(cap, base * 2^n)]. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  const floor = Math.min(baseMs / 2, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}
