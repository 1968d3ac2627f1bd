/**
 * One terminal session: a PTY, its output ring buffer, and the stream to the relay.
 *
 * Lifecycle (forward only): running -> stopping -> exited. `stopping` means a stop was asked
 * (SIGHUP sent, SIGKILL armed); `exited` means the PTY's process is gone and shell_stopped has
 * been sent.
 *
 * Output (protocol v2): every byte read from the PTY goes into the ring (OutputRing) at its offset.
 * While attached, the session sends ring bytes from its send cursor as binary ShellOutput frames,
 * but never more than `windowBytes` beyond the offset a viewer acknowledged (`shell_ack`). Bytes
 * are dropped from the ring only once acknowledged; when unacknowledged output fills the ring the
 * PTY is paused, so the program blocks instead of output being lost. Detached (no viewer, or the
 * link is down) the session keeps running; after `detachedPauseLimitMs` with a full ring it
 * overwrites the oldest output instead (a later attach then reports the gap), and after
 * `idleTimeoutMs` with nobody attached it is stopped.
 *
 * With `holdExit` (a session host whose agent is gone: nobody would hear of the exit), a shell
 * that exits while detached keeps its exit status and remaining output: the next attach
 * gets them (then shell_stopped), or the idle timeout ends the session. `ended` resolves once the
 * end has been reported either way.
 *
 * Output that follows input (a keystroke echo) and sparse output are sent on the next turn of the
 * event loop; while output streams, frames are coalesced at most every `flushMs`. Bytes are
 * forwarded untouched, so a UTF-8 character split across two reads stays intact.
 */
import { allocFrame, frameHeaderLength, FrameKind } from '@rexec/shared';
import type { Disposable, OutputGate, Pausable } from '../flow.js';
import type { LinkSink } from '../sink.js';
import type { PtyDisposable, PtyExit, PtyProcess } from './pty.js';
import { OutputRing } from './output-ring.js';

export type SessionState = 'running' | 'stopping' | 'exited';
const ORDER: Record<SessionState, number> = { running: 0, stopping: 1, exited: 2 };

export interface SessionOptions {
  /** Flush coalesced output after this many ms. */
  flushMs: number;
  /** Largest frame payload. */
  flushBytes: number;
  /** Time between SIGHUP and SIGKILL on stop. */
  stopGraceMs: number;
  cols: number;
  rows: number;
  ringBytes: number;
  windowBytes: number;
  idleTimeoutMs: number;
  detachedPauseLimitMs: number;
  /** Whether an exit while detached is held until the next attach (see above); default never. */
  holdExit?: () => boolean;
  /** Told of new output (already in the ring) and of every resize, in stream order (the screen mirror). */
  tap?: SessionTap;
  /** The ring to keep output in, when someone else reads it too (the screen mirror); default a new one. */
  ring?: OutputRing;
}

export interface SessionTap {
  /** New output is in the session's ring. */
  output(): void;
  resize(cols: number, rows: number): void;
}

type PauseReason = 'ring' | 'link';

export class ShellSession implements Pausable {
  private stateNow: SessionState = 'running';
  private readonly ring: OutputRing;
  /** Next offset to send; only meaningful while attached. */
  private sendCursor = 0;
  /** Highest offset a viewer has acknowledged. */
  private acked = 0;
  private attached = true;
  /** Overwrite the oldest output instead of pausing (detached for too long). */
  private overwrite = false;
  private readonly pausedBy = new Set<PauseReason>();
  /** When the PTY last produced output (ms, monotonic). */
  private lastOutputAt = performance.now();
  private readonly nudgeTimers = new Set<NodeJS.Timeout>();
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** The pending flush is a setImmediate (not a coalescing setTimeout). */
  private flushSoon = false;
  private lastFlushAt = -Infinity;
  /** Input was written since the last flush: the next output is likely its echo. */
  private inputSinceFlush = false;
  private killTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private overwriteTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: (PtyDisposable | Disposable)[] = [];
  cols: number;
  rows: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<PtyExit>;
  /** Resolves when the end has been reported (shell_stopped sent), or the session expired. */
  readonly ended: Promise<PtyExit>;
  private resolveEnded!: (exit: PtyExit) => void;
  /** Exited while detached, not yet reported (keepExitWhileDetached). */
  private heldExit: PtyExit | null = null;
  private reported = false;

  constructor(
    readonly id: string,
    private readonly pty: PtyProcess,
    private readonly sink: LinkSink,
    private readonly gate: OutputGate,
    private readonly opts: SessionOptions,
  ) {
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.ring = opts.ring ?? new OutputRing();
    this.subscriptions.push(gate.add(this));
    this.subscriptions.push(pty.onData((chunk) => this.onData(chunk)));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.exited = new Promise((resolve) => {
      this.subscriptions.push(pty.onExit((exit) => resolve(this.onExit(exit))));
    });
  }

  get state(): SessionState {
    return this.stateNow;
  }

  get pid(): number {
    return this.pty.pid;
  }

  /** Bytes of output produced so far (the offset of the next frame). */
  get outputBytes(): number {
    return this.ring.end;
  }

  get isAttached(): boolean {
    return this.attached;
  }

  // ---- stream control (relay) ---------------------------------------------------------------

  /**
   * Stream from `offset` (clamped to what the ring holds); returns where output resumes. Sends
   * nothing yet: the caller answers shell_attached first, then calls `kick()`.
   */
  attach(offset: number): number {
    this.attached = true;
    this.overwrite = false;
    clearTimeout(this.idleTimer);
    clearTimeout(this.overwriteTimer);
    const from = Math.min(Math.max(offset, this.ring.start), this.ring.end);
    this.sendCursor = from;
    this.acked = Math.max(this.acked, from);
    this.cancelFlush();
    this.trimRing();
    this.updateRingPause();
    return from;
  }

  /** Start sending what the window allows (a held exit: everything, then shell_stopped). */
  kick(): void {
    if (this.heldExit) return this.reportExit(this.heldExit);
    this.scheduleFlush();
  }

  /** Exited, and the exit is held for the next attach. */
  get exitHeld(): PtyExit | null {
    return this.heldExit;
  }

  /** Stop streaming (no viewer, or the link is gone); the shell keeps running. */
  detach(): void {
    if (this.heldExit) {
      this.attached = false;
      return;
    }
    if (!this.attached || this.stateNow === 'exited') return;
    this.attached = false;
    this.cancelFlush();
    this.idleTimer = setTimeout(() => this.stop(), this.opts.idleTimeoutMs);
    this.idleTimer.unref?.();
    this.overwriteTimer = setTimeout(() => {
      this.overwrite = true;
      this.trimRing();
      this.updateRingPause();
    }, this.opts.detachedPauseLimitMs);
    this.overwriteTimer.unref?.();
  }

  ack(offset: number): void {
    const to = Math.min(offset, this.ring.end);
    if (to <= this.acked) return;
    this.acked = to;
    this.trimRing();
    this.updateRingPause();
    this.scheduleFlush();
  }

  // ---- idle, recent output, nudge -------------------------------------------------------------

  get idleMs(): number {
    return Math.round(performance.now() - this.lastOutputAt);
  }

  /** The most recent `bytes` of output the ring still holds. */
  recent(bytes: number): Buffer {
    return this.ring.read(Math.max(this.ring.start, this.ring.end - bytes), this.ring.end);
  }

  /**
   * Types `data` at once (quietMs 0) or once the session has been quiet for quietMs, giving up
   * after timeoutMs. Resolves with what happened.
   */
  nudge(data: string, quietMs: number, timeoutMs: number): Promise<{ status: 'delivered' | 'timed_out' | 'not_running'; idleMs?: number }> {
    const started = performance.now();
    return new Promise((resolve) => {
      const attempt = () => {
        if (this.stateNow !== 'running') return resolve({ status: 'not_running' });
        const idle = this.idleMs;
        if (idle >= quietMs) {
          this.write(data);
          return resolve({ status: 'delivered', idleMs: idle });
        }
        if (performance.now() - started >= timeoutMs) return resolve({ status: 'timed_out' });
        const wait = Math.max(10, Math.min(quietMs - idle, timeoutMs - (performance.now() - started), 250));
        const t = setTimeout(() => {
          this.nudgeTimers.delete(t);
          attempt();
        }, wait);
        this.nudgeTimers.add(t);
      };
      attempt();
    });
  }

  // ---- Pausable (the link's send buffer) ----------------------------------------------------

  pause(): void {
    this.setPaused('link', true);
  }
  resume(): void {
    this.setPaused('link', false);
  }

  private setPaused(reason: PauseReason, on: boolean): void {
    const before = this.pausedBy.size > 0;
    if (on) this.pausedBy.add(reason);
    else this.pausedBy.delete(reason);
    const after = this.pausedBy.size > 0;
    if (before === after || this.stateNow === 'exited') return;
    try {
      if (after) this.pty.pause();
      else this.pty.resume();
    } catch {
      /* exiting */
    }
  }

  /**
   * Keep the newest ringBytes as history (a reloaded browser replays it) and every byte not yet
   * acknowledged; when overwriting, only the newest ringBytes.
   */
  private trimRing(): void {
    const historyFrom = this.ring.end - this.opts.ringBytes;
    this.ring.dropBefore(this.overwrite ? historyFrom : Math.min(this.acked, historyFrom));
  }

  private updateRingPause(): void {
    const full = !this.overwrite && this.ring.end - this.acked >= this.opts.ringBytes;
    this.setPaused('ring', full);
  }

  // The process may be gone a moment before onExit fires; node-pty then throws. Ignore that.
  write(data: string): void {
    if (this.stateNow !== 'running') return;
    this.inputSinceFlush = true;
    try {
      this.pty.write(data);
    } catch {
      /* exiting */
    }
  }

  resize(cols: number, rows: number): void {
    if (this.stateNow === 'exited') return;
    this.cols = cols;
    this.rows = rows;
    this.opts.tap?.resize(cols, rows);
    try {
      this.pty.resize(cols, rows);
    } catch {
      /* exiting */
    }
  }

  /** SIGHUP now, SIGKILL after the grace period if the process is still there. */
  stop(): void {
    if (this.heldExit) return this.reportExit(this.heldExit);
    if (!this.advance('stopping')) return;
    this.signal('SIGHUP');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.opts.stopGraceMs);
    this.killTimer.unref?.();
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.pty.kill(sig);
    } catch {
      /* already gone */
    }
  }

  private advance(to: SessionState): boolean {
    if (ORDER[to] <= ORDER[this.stateNow]) return false;
    this.stateNow = to;
    return true;
  }

  private onData(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.lastOutputAt = performance.now();
    this.ring.push(chunk);
    this.opts.tap?.output();
    this.trimRing();
    this.updateRingPause();
    this.scheduleFlush();
  }

  /** Bytes that may go out now: from the cursor up to the end, within the window. */
  private sendable(): number {
    if (!this.attached) return 0;
    return Math.max(0, Math.min(this.ring.end, this.acked + this.opts.windowBytes) - this.sendCursor);
  }

  private scheduleFlush(): void {
    const n = this.sendable();
    if (n === 0) return;
    // Output that follows input (a keystroke echo) and sparse output go out on the next turn of
    // the event loop; while output streams, frames are coalesced at most every flushMs. Time since
    // the last flush alone cannot tell the two apart: the echoes of fast typing arrive within
    // flushMs of each other, and holding them back would stretch every echo to flushMs.
    if (this.flushTimer && (this.flushSoon || !this.inputSinceFlush)) return;
    if (n >= this.opts.flushBytes) return this.flush();
    const wait = this.lastFlushAt + this.opts.flushMs - performance.now();
    const soon = this.inputSinceFlush || wait <= 0;
    this.cancelFlush();
    this.flushSoon = soon;
    this.flushTimer = soon ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), wait);
  }

  private cancelFlush(): void {
    clearTimeout(this.flushTimer as NodeJS.Timeout);
    clearImmediate(this.flushTimer as NodeJS.Immediate);
    this.flushTimer = undefined;
  }

  /** Sends what the window allows, in frames of at most flushBytes. `all` ignores the window. */
  private flush(all = false): void {
    this.cancelFlush();
    this.lastFlushAt = performance.now();
    this.inputSinceFlush = false;
    if (!this.attached) return;
    const limit = all ? this.ring.end : Math.min(this.ring.end, this.acked + this.opts.windowBytes);
    if (this.sendCursor < this.ring.start) this.sendCursor = this.ring.start; // overwritten meanwhile: the gap shows
    while (this.sendCursor < limit) {
      const to = Math.min(limit, this.sendCursor + this.opts.flushBytes);
      // The payload goes from the ring straight into the frame: one allocation, one copy.
      const frame = allocFrame(FrameKind.ShellOutput, this.id, this.sendCursor, to - this.sendCursor, Buffer.allocUnsafe);
      this.ring.copyOut(this.sendCursor, to, frame, frameHeaderLength(this.id));
      if (!this.sink.sendBinary(frame)) break;
      this.sendCursor = to;
    }
    this.gate.check();
  }

  private onExit(exit: PtyExit): PtyExit {
    const stopAsked = this.stateNow === 'stopping';
    this.advance('exited');
    clearTimeout(this.killTimer);
    clearTimeout(this.overwriteTimer);
    for (const t of this.nudgeTimers) clearTimeout(t);
    this.nudgeTimers.clear();
    for (const s of this.subscriptions.splice(0)) s.dispose();
    if (!this.attached && !stopAsked && this.opts.holdExit?.()) {
      // Nobody is listening: hold the exit and the output for the next attach, at most until the
      // idle timeout (already running since detach), which then reports it to whoever is there.
      this.heldExit = exit;
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.reportExit(exit), this.opts.idleTimeoutMs);
      this.idleTimer.unref?.();
      return exit;
    }
    this.reportExit(exit);
    return exit;
  }

  private reportExit(exit: PtyExit): void {
    if (this.reported) return;
    this.reported = true;
    this.heldExit = null;
    clearTimeout(this.idleTimer);
    this.flush(true); // the last output goes out whatever the window
    this.sink.sendJson({
      type: 'shell_stopped',
      sessionId: this.id,
      exitCode: exit.exitCode,
      signal: exit.signal,
      outputBytes: this.ring.end,
    });
    this.resolveEnded(exit);
  }
}
