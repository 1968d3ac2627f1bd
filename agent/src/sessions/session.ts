/**
 * One terminal session: a PTY, its output offset, and output coalescing.
 *
 * Lifecycle (forward only): running -> stopping -> exited. `stopping` means a stop was asked
 * (SIGHUP sent, SIGKILL armed); `exited` means the PTY's process is gone and shell_stopped has
 * been sent.
 *
 * Output is gathered for a few milliseconds (or until 64 KiB are waiting) and then sent as one
 * binary ShellOutput frame whose offset is the number of bytes the session produced before it.
 * Bytes are forwarded untouched, so a UTF-8 character split across two reads stays intact.
 */
import { encodeFrame, FrameKind } from '@rexec/shared';
import type { Disposable, FlowGate } from '../flow.js';
import type { LinkSink } from '../sink.js';
import type { PtyDisposable, PtyExit, PtyProcess } from './pty.js';

export type SessionState = 'running' | 'stopping' | 'exited';
const ORDER: Record<SessionState, number> = { running: 0, stopping: 1, exited: 2 };

export interface SessionOptions {
  /** Flush coalesced output after this many ms. */
  flushMs: number;
  /** Flush at once when this many bytes are waiting. */
  flushBytes: number;
  /** Time between SIGHUP and SIGKILL on stop. */
  stopGraceMs: number;
}

export class ShellSession {
  private stateNow: SessionState = 'running';
  private offsetNow = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastFlushAt = 0;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: (PtyDisposable | Disposable)[] = [];
  /** Resolves when the process has exited and shell_stopped was sent. */
  readonly exited: Promise<PtyExit>;

  constructor(
    readonly id: string,
    private readonly pty: PtyProcess,
    private readonly sink: LinkSink,
    private readonly gate: FlowGate,
    private readonly opts: SessionOptions,
  ) {
    this.subscriptions.push(gate.add(pty));
    this.subscriptions.push(pty.onData((chunk) => this.onData(chunk)));
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
    return this.offsetNow + this.pendingBytes;
  }

  // The process may be gone a moment before onExit fires; node-pty then throws. Ignore that.
  write(data: string): void {
    if (this.stateNow !== 'running') return;
    try {
      this.pty.write(data);
    } catch {
      /* exiting */
    }
  }

  resize(cols: number, rows: number): void {
    if (this.stateNow === 'exited') return;
    try {
      this.pty.resize(cols, rows);
    } catch {
      /* exiting */
    }
  }

  /** SIGHUP now, SIGKILL after the grace period if the process is still there. */
  stop(): void {
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
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.opts.flushBytes) return this.flush();
    if (this.flushTimer) return;
    // Sparse output (a keystroke echo) goes out on the next turn of the event loop, adding no
    // delay; while output streams, frames are coalesced at most every flushMs.
    const wait = this.lastFlushAt + this.opts.flushMs - performance.now();
    this.flushTimer = wait <= 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    clearTimeout(this.flushTimer as NodeJS.Timeout);
    clearImmediate(this.flushTimer as NodeJS.Immediate);
    this.flushTimer = undefined;
    this.lastFlushAt = performance.now();
    if (this.pendingBytes === 0) return;
    const payload = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.sink.sendBinary(encodeFrame(FrameKind.ShellOutput, this.id, this.offsetNow, payload));
    this.offsetNow += payload.length;
    this.gate.check();
  }

  private onExit(exit: PtyExit): PtyExit {
    this.flush();
    this.advance('exited');
    clearTimeout(this.killTimer);
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.sink.sendJson({
      type: 'shell_stopped',
      sessionId: this.id,
      exitCode: exit.exitCode,
      signal: exit.signal,
      outputBytes: this.offsetNow,
    });
    return exit;
  }
}
