/**
 * Gives memory that malloc holds free back to the kernel, a second after it appeared. The relay
 * starts it once it listens, so what start-up freed goes back at once.
 *
 * glibc returns freed memory only from the top of its heap. In the relay, V8's compiler and the
 * socket buffers of busy terminals free memory in the middle of it, which the process then keeps:
 * 15 to 20 MiB after start-up, a third of what the relay itself allocates (docs/benchmarks.md,
 * sixth session). Once a second the trimmer looks at the resident size, and when it has grown by
 * `growthBytes` since the last trim, it calls malloc_trim (1 to 3 ms on the relay). An idle relay
 * is not woken up: the timer does not keep the process alive, and a steady size costs one read of
 * the resident size.
 */
export interface TrimmerOptions {
  /** malloc_trim(0): true if memory went back to the kernel. */
  trim: () => boolean;
  /** The resident size in bytes (process.memoryUsage.rss). */
  rssBytes: () => number;
  intervalMs: number;
  /** Growth of the resident size since the last trim that calls for another. */
  growthBytes?: number;
}

export const DEFAULT_TRIM_GROWTH_BYTES = 1024 * 1024;

export class MemoryTrimmer {
  private timer: NodeJS.Timeout | undefined;
  /** Resident size right after the last trim (or the lowest seen since); null before the first. */
  private baseline: number | null = null;

  constructor(private readonly opts: TrimmerOptions) {
    if (!(opts.intervalMs > 0)) throw new Error('intervalMs must be positive');
  }

  /** Looks now (what was freed so far goes back at once), then every intervalMs for as long as the process runs (the timer does not keep it alive). */
  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs).unref();
  }

  /** One look; trims if the resident size grew enough. Returns whether it trimmed. */
  tick(): boolean {
    const before = this.opts.rssBytes();
    if (this.baseline !== null && before < this.baseline + (this.opts.growthBytes ?? DEFAULT_TRIM_GROWTH_BYTES)) {
      this.baseline = Math.min(this.baseline, before);
      return false;
    }
    this.opts.trim();
    this.baseline = this.opts.rssBytes();
    return true;
  }
}
