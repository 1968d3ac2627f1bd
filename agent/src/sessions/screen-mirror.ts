/**
 * A headless terminal (@xterm/headless) that mirrors a session's screen, so a viewer with nothing
 * rendered can start from a snapshot (@xterm/addon-serialize) instead of a raw replay, which is
 * wrong for full-screen programs once the ring has dropped their first screen.
 *
 * Parsing costs about as much CPU per byte as the browser's xterm.js, so the mirror is fed
 * lazily: output and resizes queue up in stream order and are parsed once the session has been
 * quiet for `idleMs` or when a snapshot is asked for. A flood therefore costs nothing until it
 * pauses. A snapshot reports the offset its picture stands for: it parses everything queued before
 * the request and nothing after.
 *
 * The mirror keeps no output of its own: it reads what it has not parsed yet from the session's
 * ring (`source`), and only resizes queue here, with the offset they happened at. When the ring
 * has already dropped bytes the mirror has not parsed (a flood longer than the ring, with no pause
 * of `idleMs`), those are skipped and the mirror starts again from a reset terminal with what the
 * ring still holds. Parsing a whole long flood instead cost a core and halved its throughput (a
 * 30 s flood went from about 25 to 14 MiB/s) and grew the host by over 100 MiB. After such a
 * restart the picture is what the ring's last megabyte draws on a reset terminal, which for the
 * scrolling output of a flood is the screen; modes set before the flood (an alternate screen, say)
 * are lost.
 */
import { createRequire } from 'node:module';
import { LIMITS } from '@rexec/shared';
import type * as Headless from '@xterm/headless';
import type * as Serialize from '@xterm/addon-serialize';
import type { OutputView } from './output-ring.js';
import type { SessionTap } from './session.js';

export interface Snapshot {
  /** Escape sequences that redraw the screen (and some scrollback) on an empty terminal. */
  data: string;
  /** Output offset the picture is exact for. */
  offset: number;
  cols: number;
  rows: number;
}

export interface ScreenMirrorOptions {
  cols: number;
  rows: number;
  /** The session's output ring: the mirror parses from it. */
  source: OutputView;
  /** Parse after this much quiet (ms). */
  idleMs?: number;
  /** Scrollback lines kept and put into snapshots. */
  scrollback?: number;
  /** Largest snapshot (UTF-8 bytes); scrollback is cut to fit. */
  maxSnapshotBytes?: number;
}

interface Resize {
  /** Output offset the resize happened at. */
  at: number;
  cols: number;
  rows: number;
}

const require = createRequire(import.meta.url);
/** Largest chunk handed to one xterm write (fewer callbacks, same parse). */
const WRITE_BYTES = 256 * 1024;

/** Loads @xterm/headless and the serializer now (a spare session host does, before it is needed). */
export function preloadMirror(): void {
  require('@xterm/headless');
  require('@xterm/addon-serialize');
}

export class ScreenMirror implements SessionTap {
  private readonly term: Headless.Terminal;
  private readonly serializer: Serialize.SerializeAddon;
  private readonly source: OutputView;
  /** Resizes not applied yet, in order. */
  private resizes: Resize[] = [];
  /** Resizes pushed and applied (counts: a snapshot waits for those before it). */
  private resizesPushed = 0;
  private resizesApplied = 0;
  private parsedOffset = 0;
  private cols: number;
  private rows: number;
  private pumping = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleDue = false;
  /** When output or a resize last arrived (ms, monotonic); the idle timer re-arms from it. */
  private lastInputAt = 0;
  private readonly waiters: { end: number; resizes: number; take(): void }[] = [];
  private readonly idleMs: number;
  private readonly scrollback: number;
  private readonly maxSnapshotBytes: number;
  private disposed = false;
  /** Output was skipped unparsed: reset the terminal before parsing what follows. */
  private needsReset = false;

  constructor(opts: ScreenMirrorOptions) {
    const { Terminal } = require('@xterm/headless') as typeof Headless;
    const { SerializeAddon } = require('@xterm/addon-serialize') as typeof Serialize;
    this.source = opts.source;
    this.parsedOffset = opts.source.end;
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.idleMs = opts.idleMs ?? 250;
    this.scrollback = opts.scrollback ?? LIMITS.snapshotScrollbackLines;
    this.maxSnapshotBytes = opts.maxSnapshotBytes ?? LIMITS.maxSnapshotBytes;
    this.term = new Terminal({ cols: opts.cols, rows: opts.rows, scrollback: this.scrollback, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer as unknown as Headless.ITerminalAddon);
  }

  /** Output bytes not parsed yet (some may be gone from the ring already). */
  get backlog(): number {
    return this.source.end - this.parsedOffset;
  }

  /** New output is in the ring. */
  output(): void {
    if (this.disposed) return;
    this.armIdle();
  }

  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.resizes.push({ at: this.source.end, cols, rows });
    this.resizesPushed++;
    this.armIdle();
  }

  /** Parses everything up to now, then serializes the screen. */
  snapshot(): Promise<Snapshot> {
    const end = this.source.end;
    const resizes = this.resizesPushed;
    return new Promise<Snapshot>((resolve, reject) => {
      // Serialized synchronously once parsed up to the boundary, before anything later: exact.
      const take = () => {
        try {
          resolve({ data: this.serialize(), offset: this.parsedOffset, cols: this.cols, rows: this.rows });
        } catch (err) {
          reject(err as Error);
        }
      };
      if (this.reached(end, resizes) && !this.pumping) return take();
      this.waiters.push({ end, resizes, take });
      void this.pump();
    });
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.idleTimer);
    this.resizes = [];
    this.term.dispose();
  }

  private reached(end: number, resizes: number): boolean {
    return this.parsedOffset >= end && this.resizesApplied >= resizes;
  }

  private serialize(): string {
    for (let lines = this.scrollback; ; lines = Math.floor(lines / 4)) {
      const data = this.serializer.serialize({ scrollback: lines });
      if (Buffer.byteLength(data, 'utf8') <= this.maxSnapshotBytes) return data;
      if (lines === 0) throw new Error(`the screen alone serializes to more than ${this.maxSnapshotBytes} bytes`);
    }
  }

  /** One timer per quiet period, not per chunk: it re-arms itself while output keeps coming. */
  private armIdle(): void {
    this.idleDue = false;
    this.lastInputAt = performance.now();
    if (this.idleTimer) return;
    const fire = () => {
      const wait = this.lastInputAt + this.idleMs - performance.now();
      if (wait > 1) {
        this.idleTimer = setTimeout(fire, wait);
        this.idleTimer.unref?.();
        return;
      }
      this.idleTimer = undefined;
      this.idleDue = true;
      void this.pump();
    };
    this.idleTimer = setTimeout(fire, this.idleMs);
    this.idleTimer.unref?.();
  }

  private get queued(): boolean {
    return this.parsedOffset < this.source.end || this.resizes.length > 0;
  }

  private applyNextResize(): void {
    const r = this.resizes.shift()!;
    this.resizesApplied++;
    this.cols = r.cols;
    this.rows = r.rows;
    if (!this.needsReset) this.term.resize(r.cols, r.rows);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queued && (this.waiters.length > 0 || this.idleDue) && !this.disposed) {
        this.release();
        if (this.parsedOffset < this.source.start) {
          // The ring dropped output we never parsed: skip it (and the resizes within it).
          this.parsedOffset = this.source.start;
          this.needsReset = true;
        }
        while (this.resizes.length && this.resizes[0]!.at <= this.parsedOffset) this.applyNextResize();
        if (this.needsReset) {
          this.needsReset = false;
          this.term.reset();
          this.term.resize(this.cols, this.rows);
        }
        this.release();
        // Stop at the next resize and at a waiting snapshot's boundary, so it is taken there.
        let to = Math.min(this.source.end, this.resizes[0]?.at ?? Infinity, this.parsedOffset + WRITE_BYTES);
        for (const w of this.waiters) if (w.end > this.parsedOffset && w.end < to) to = w.end;
        if (to <= this.parsedOffset) continue;
        // Copied out of the ring now: it may drop these bytes while xterm parses them.
        const bytes = this.source.read(this.parsedOffset, to);
        await new Promise<void>((r) => this.term.write(bytes, r));
        this.parsedOffset = to;
        this.release();
      }
      if (!this.queued) this.idleDue = false;
    } finally {
      this.pumping = false;
    }
    this.release();
  }

  private release(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.reached(w.end, w.resizes) || this.disposed) {
        this.waiters.splice(i, 1);
        w.take();
      }
    }
  }
}
