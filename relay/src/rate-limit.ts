/** Token buckets keyed by a string (an IP, a username, a socket). In-memory, per relay process. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly now: () => number = Date.now) {
    this.tokens = burst;
    this.last = now();
  }
  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSec);
    this.last = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

export class KeyedRateLimiter {
  private buckets = new Map<string, TokenBucket>();
  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly maxKeys = 100_000) {}
  take(key: string, n = 1): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
      b = new TokenBucket(this.ratePerSec, this.burst);
      this.buckets.set(key, b);
    }
    return b.take(n);
  }
}
