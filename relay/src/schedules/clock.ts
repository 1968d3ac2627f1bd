/**
 * The scheduler's sense of time. Everything in src/schedules asks a Clock, never Date.now(), so
 * tests drive it (FakeClock) and never wait on wall time.
 *
 * - systemClock: the host's clock.
 * - DatabaseClock: the host's clock corrected by its measured offset to the database server's
 *   clock (SELECT now()), so every relay sharing a PostgreSQL database fires against one clock.
 * - ScaledClock: time that runs `scale` times faster from a fixed start; only for tests that
 *   start relay processes (REXEC_SCHEDULER_TEST_CLOCK), so a `* * * * *` schedule fires every
 *   second instead of every minute. Processes given the same value agree on the time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number | Date | string): void {
    this.t = typeof t === 'number' ? t : new Date(t).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export class ScaledClock implements Clock {
  constructor(
    private readonly startMs: number,
    private readonly anchorMs: number,
    private readonly scale: number,
    private readonly base: Clock = systemClock,
  ) {}
  now(): number {
    return Math.floor(this.startMs + (this.base.now() - this.anchorMs) * this.scale);
  }
}

/** Parses REXEC_SCHEDULER_TEST_CLOCK: "start=<ISO instant>,anchor=<epoch ms>,scale=<n>". */
export function parseTestClock(spec: string): ScaledClock {
  const f = Object.fromEntries(spec.split(',').map((p) => p.trim().split('=') as [string, string]));
  const start = f.start ? new Date(f.start).getTime() : Number.NaN;
  const anchor = Number(f.anchor);
  const scale = Number(f.scale ?? 1);
  if (!Number.isFinite(start) || !Number.isFinite(anchor) || !(scale > 0 && scale <= 3600)) {
    throw new Error(`REXEC_SCHEDULER_TEST_CLOCK must look like "start=2026-03-08T06:00:00Z,anchor=<epoch ms>,scale=60", got "${spec}"`);
  }
  return new ScaledClock(start, anchor, scale);
}

/** The host clock plus an offset measured against the database. */
export class DatabaseClock implements Clock {
  offsetMs = 0;
  constructor(private readonly dbNow: () => Promise<Date>) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  /** Measures the offset (half the round trip is attributed to each direction); returns it. */
  async sync(): Promise<number> {
    const t0 = Date.now();
    const db = (await this.dbNow()).getTime();
    const t1 = Date.now();
    this.offsetMs = Math.round(db - (t0 + t1) / 2);
    return this.offsetMs;
  }
}
