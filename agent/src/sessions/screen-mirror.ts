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
 * Memory is bounded by `maxPendingBytes`: when more waits (a flood with no pause of `idleMs`), the
 * oldest half is dropped unparsed and the mirror starts again from a reset terminal with what is
 * left. Parsing a whole long flood instead cost a core and halved its throughput (a 30 s flood
 * went from about 25 to 14 MiB/s) and grew the host by over 100 MiB. After such a restart the
 * picture is what the last megabytes of output draw on a reset terminal, which for the scrolling
 * output of a flood is the screen; modes set before the flood (an alternate screen, say) are lost.
 */
import { createRequire } from 'node:module';
import { LIMITS } from '@rexec/shared';
import type * as Headless from '@xterm/headless';
import type * as Serialize from '@xterm/addon-serialize';
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
  /** Parse after this much quiet (ms). */
  idleMs?: number;
  /** Parse at once when this much output waits. */
  maxPendingBytes?: number;
  /** Scrollback lines kept and put into snapshots. */
  scrollback?: number;
  /** Largest snapshot (UTF-8 bytes); scrollback is cut to fit. */
  maxSnapshotBytes?: number;
}

type Item = Buffer | { cols: number; rows: number };

const require = createRequire(import.meta.url);
/** Largest chunk handed to one xterm write (fewer callbacks, same parse). */
const WRITE_BYTES = 256 * 1024;
/** Unparsed output a mirror keeps at most (REXEC_AGENT_MIRROR_PENDING_BYTES). */
export const DEFAULT_MIRROR_PENDING_BYTES = 4 * 1024 * 1024;

/** Loads @xterm/headless and the serializer now (a spare session host does, before it is needed). */
export function preloadMirror(): void {
  require('@xterm/headless');
  require('@xterm/addon-serialize');
}

export class ScreenMirror implements SessionTap {
  private readonly term: Headless.Terminal;
  private readonly serializer: Serialize.SerializeAddon;
  /** Queued items are pending[head..]; consumed ones are cut away in batches (shift is O(n)). */
  private pending: Item[] = [];
  private head = 0;
  private pendingBytes = 0;
  /** Items pushed, and items parsed (counts, so a resize and bytes keep their order). */
  private pushed = 0;
  private parsed = 0;
  private parsedOffset = 0;
  private cols: number;
  private rows: number;
  private pumping = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleDue = false;
  /** When output or a resize last arrived (ms, monotonic); the idle timer re-arms from it. */
  private lastInputAt = 0;
  private readonly waiters: { seq: number; take(): void }[] = [];
  private readonly idleMs: number;
  private readonly maxPendingBytes: number;
  private readonly scrollback: number;
  private readonly maxSnapshotBytes: number;
  private disposed = false;
  /** Output was dropped unparsed: reset the terminal before parsing what follows. */
  private needsReset = false;

  constructor(opts: ScreenMirrorOptions) {
    const { Terminal } = require('@xterm/headless') as typeof Headless;
    const { SerializeAddon } = require('@xterm/addon-serialize') as typeof Serialize;
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.idleMs = opts.idleMs ?? 250;
    this.maxPendingBytes = opts.maxPendingBytes ?? DEFAULT_MIRROR_PENDING_BYTES;
    this.scrollback = opts.scrollback ?? LIMITS.snapshotScrollbackLines;
    this.maxSnapshotBytes = opts.maxSnapshotBytes ?? LIMITS.maxSnapshotBytes;
    this.term = new Terminal({ cols: opts.cols, rows: opts.rows, scrollback: this.scrollback, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer as unknown as Headless.ITerminalAddon);
  }

  /** Output bytes queued and not parsed yet. */
  get backlog(): number {
    return this.pendingBytes;
  }

  output(chunk: Buffer): void {
    if (chunk.length === 0 || this.disposed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.pushed++;
    if (this.pendingBytes > this.maxPendingBytes) {
      // While a snapshot waits, everything up to its boundary is parsed instead.
      if (this.waiters.length) return void this.pump();
      this.dropOldest(this.maxPendingBytes / 2);
    }
    this.armIdle();
  }

  /** Drops queued items from the front until at most `keep` output bytes wait (see the top). */
  private dropOldest(keep: number): void {
    while (this.queued > 1 && this.pendingBytes > keep) {
      const item = this.take();
      this.parsed++;
      if (Buffer.isBuffer(item)) {
        this.pendingBytes -= item.length;
        this.parsedOffset += item.length;
      } else {
        this.cols = item.cols;
        this.rows = item.rows;
      }
      this.needsReset = true;
    }
  }

  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.pending.push({ cols, rows });
    this.pushed++;
    this.armIdle();
  }

  /** Parses everything queued so far, then serializes the screen. */
  snapshot(): Promise<Snapshot> {
    const seq = this.pushed;
    return new Promise<Snapshot>((resolve, reject) => {
      // Serialized synchronously at the boundary, before anything later is parsed: exact.
      const take = () => {
        try {
          resolve({ data: this.serialize(), offset: this.parsedOffset, cols: this.cols, rows: this.rows });
        } catch (err) {
          reject(err as Error);
        }
      };
      if (this.parsed >= seq && !this.pumping) return take();
      this.waiters.push({ seq, take });
      void this.pump();
    });
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.idleTimer);
    this.pending = [];
    this.head = 0;
    this.term.dispose();
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

  private get queued(): number {
    return this.pending.length - this.head;
  }

  private take(): Item {
    const item = this.pending[this.head++]!;
    if (this.head >= 1024 && this.head * 2 >= this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  private wanted(): boolean {
    return this.waiters.length > 0 || this.idleDue || this.pendingBytes > this.maxPendingBytes;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queued && this.wanted() && !this.disposed) {
        this.release();
        if (this.needsReset) {
          this.needsReset = false;
          this.term.reset();
          this.term.resize(this.cols, this.rows);
        }
        const first = this.pending[this.head]!;
        if (!Buffer.isBuffer(first)) {
          this.take();
          this.parsed++;
          this.cols = first.cols;
          this.rows = first.rows;
          this.term.resize(first.cols, first.rows);
        } else {
          // Join consecutive output chunks into one write, stopping at a waiter's boundary.
          const limit = this.waiters.length ? Math.min(...this.waiters.map((w) => w.seq)) : Infinity;
          const parts: Buffer[] = [];
          let bytes = 0;
          while (this.queued && Buffer.isBuffer(this.pending[this.head]) && bytes < WRITE_BYTES && (parts.length === 0 || this.parsed + parts.length < limit)) {
            const b = this.take() as Buffer;
            parts.push(b);
            bytes += b.length;
          }
          await new Promise<void>((r) => this.term.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), r));
          this.parsed += parts.length;
          this.pendingBytes -= bytes;
          this.parsedOffset += bytes;
        }
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
      if (this.parsed >= w.seq || this.disposed) {
        this.waiters.splice(i, 1);
        w.take();
      }
    }
  }
}
