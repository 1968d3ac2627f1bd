/**
 * Flow control between output producers (PTYs, exec pipes) and the one link socket.
 *
 * When the socket's send buffer (ws `bufferedAmount`) rises above the high watermark, every
 * registered producer is paused; a short poll resumes them once the buffer has drained below the
 * low watermark. Pausing a PTY stops reading its master side, so the program blocks in write()
 * instead of the agent buffering without bound.
 */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export interface Disposable {
  dispose(): void;
}

/** What an output producer needs from its gate: register, and check after each send. */
export interface OutputGate {
  add(p: Pausable): Disposable;
  check(): void;
}

export interface FlowGateOptions {
  bufferedAmount: () => number;
  highWatermark?: number;
  lowWatermark?: number;
  pollMs?: number;
}

export const DEFAULT_HIGH_WATERMARK = 4 * 1024 * 1024;
export const DEFAULT_LOW_WATERMARK = 1024 * 1024;

export class FlowGate implements Disposable, OutputGate {
  private readonly producers = new Set<Pausable>();
  private readonly high: number;
  private readonly low: number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pausedNow = false;

  constructor(private readonly opts: FlowGateOptions) {
    this.high = opts.highWatermark ?? DEFAULT_HIGH_WATERMARK;
    this.low = opts.lowWatermark ?? DEFAULT_LOW_WATERMARK;
    this.pollMs = opts.pollMs ?? 10;
    if (this.low > this.high) throw new Error('low watermark must not exceed the high watermark');
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  add(p: Pausable): Disposable {
    this.producers.add(p);
    if (this.pausedNow) p.pause();
    return { dispose: () => void this.producers.delete(p) };
  }

  /** Call after each send. */
  check(): void {
    if (this.pausedNow || this.opts.bufferedAmount() <= this.high) return;
    this.pausedNow = true;
    for (const p of this.producers) p.pause();
    this.timer = setInterval(() => this.poll(), this.pollMs);
  }

  private poll(): void {
    if (this.opts.bufferedAmount() >= this.low) return;
    this.release();
  }

  private release(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.pausedNow) return;
    this.pausedNow = false;
    for (const p of this.producers) p.resume();
  }

  /** Resumes everyone and stops polling (e.g. the link dropped and the buffer is gone). */
  reset(): void {
    this.release();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.producers.clear();
  }
}
