/**
 * One terminal session on one agent link, as the relay sees it: the viewers attached to it and
 * the stream from the agent. Output frames carry byte offsets, so each viewer gets exactly the
 * bytes it has not had (duplicates from a replay are cut away, a jump forward is a gap the viewer
 * shows). A viewer that falls behind (its socket buffer over LAG_BYTES) is skipped, then caught
 * up from the agent's ring buffer when it drains, without slowing the others.
 *
 * Flow control: viewers acknowledge rendered offsets; the best acknowledgement goes to the agent
 * (`shell_ack`), which sends at most a window beyond it. Acknowledgements are forwarded once they
 * move ACK_FORWARD_BYTES (a quarter of the window) or after ACK_DELAY_MS: a viewer acknowledges
 * every few KiB, and passing each one on cost the agent and its session host a message, a parse
 * and a write apiece, thousands a second during a flood. The relay keeps no output of its own.
 *
 * Who is attached, in which mode, and whose resizes apply: ./viewer-roster.ts.
 */
import { FrameKind, SESSION_DEFAULTS, encodeFrame, takeNewBytes, type AgentToRelay, type Frame } from '@rexec/shared';
import type { AgentLink } from './agent-link.js';
import type { SessionSink } from './sinks.js';
import { ViewerRoster, type RosterMember } from './viewer-roster.js';

type Msg<T extends AgentToRelay['type']> = Extract<AgentToRelay, { type: T }>;

/** A viewer socket falls behind when this much is queued for it. */
export const LAG_BYTES = 1024 * 1024;
/** An acknowledgement this far beyond the last one forwarded goes to the agent at once. */
export const ACK_FORWARD_BYTES = SESSION_DEFAULTS.windowBytes / 4;
/** A smaller one waits at most this long (ms), merged with those that follow. */
export const ACK_DELAY_MS = 5;

export interface Viewer extends RosterMember {
  /** Offset of the next byte this viewer needs. */
  nextOffset: number;
  readonly bufferedAmount: number;
  sendFrame(raw: Uint8Array): void;
  onAttached(msg: { sessionId: string; fromOffset: number; outputBytes: number; cols: number; rows: number }): void;
  onStopped(msg: Msg<'shell_stopped'>): void;
  onError(msg: { code: string; message: string }): void;
  onGone(reason: string): void;
}

export class SessionRoute implements SessionSink {
  readonly viewers = new Set<Viewer>();
  readonly roster = new ViewerRoster<Viewer>();
  private lagging = new Set<Viewer>();
  private ackSent = -1;
  private ackWaiting = -1;
  private ackTimer: NodeJS.Timeout | null = null;
  /** Offset the agent streams from since the last shell_attach (null: not streaming). */
  private streamFrom: number | null = null;
  /** Viewers waiting for shell_attached. */
  private pending = new Set<Viewer>();
  cols = 80;
  rows = 24;
  /** Highest output offset seen, and when (for session lists). */
  outputBytes: number | null = null;
  lastOutputAt: Date | null = null;

  constructor(readonly link: AgentLink, readonly sessionId: string, private readonly onEnded: (msg: Msg<'shell_stopped'> | null, reason: string) => void) {}

  /** A new shell: the agent streams from offset 0 once it has started. */
  startNew(viewer: Viewer): void {
    this.viewers.add(viewer);
    this.streamFrom = 0;
    this.joined(viewer);
  }

  /** Attach a viewer that has rendered up to `offset`. */
  attach(viewer: Viewer, offset: number): void {
    viewer.nextOffset = offset;
    this.viewers.add(viewer);
    this.pending.add(viewer);
    this.joined(viewer);
    this.requestFrom(offset);
  }

  detach(viewer: Viewer): void {
    this.viewers.delete(viewer);
    this.lagging.delete(viewer);
    this.pending.delete(viewer);
    if (this.roster.remove(viewer)) this.membershipChanged();
    if (this.viewers.size === 0 && this.streamFrom !== null) {
      this.streamFrom = null;
      this.link.send({ type: 'shell_detach', sessionId: this.sessionId });
    }
  }

  ack(viewer: Viewer, offset: number): void {
    if (!this.viewers.has(viewer) || offset > viewer.nextOffset || offset <= this.ackSent) return;
    if (offset - Math.max(this.ackSent, 0) >= ACK_FORWARD_BYTES) return this.forwardAck(offset);
    this.ackWaiting = Math.max(this.ackWaiting, offset);
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => this.forwardAck(this.ackWaiting), ACK_DELAY_MS);
      this.ackTimer.unref();
    }
  }

  private forwardAck(offset: number): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (offset <= this.ackSent || this.viewers.size === 0) return;
    this.ackSent = offset;
    this.link.send({ type: 'shell_ack', sessionId: this.sessionId, offset });
  }

  /** A resize from a read-write viewer: applied when it owns the size, else remembered. */
  resize(viewer: Viewer, cols: number, rows: number): void {
    if (this.roster.want(viewer, cols, rows)) this.applySize(cols, rows);
  }

  private joined(viewer: Viewer): void {
    if (this.roster.add(viewer)) this.membershipChanged();
  }

  /** Tell everyone who is here; a new size owner's size applies. */
  private membershipChanged(): void {
    this.roster.broadcast();
    const wanted = this.roster.ownerWants();
    if (wanted && (wanted.cols !== this.cols || wanted.rows !== this.rows)) this.applySize(wanted.cols, wanted.rows);
  }

  private applySize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.link.send({ type: 'shell_resize', sessionId: this.sessionId, cols, rows });
    for (const v of this.viewers) v.onResized(cols, rows);
  }

  /** (Re)stream from the lowest offset any viewer still needs; viewers that have bytes skip them. */
  private requestFrom(offset: number): void {
    let from = offset;
    for (const v of this.viewers) from = Math.min(from, v.nextOffset);
    this.streamFrom = from;
    this.link.send({ type: 'shell_attach', sessionId: this.sessionId, offset: from });
  }

  // ---- SessionSink ---------------------------------------------------------------------------

  onStarted(msg: Msg<'shell_started'>): void {
    this.cols = msg.cols;
    this.rows = msg.rows;
    for (const v of this.viewers) v.onAttached({ sessionId: msg.sessionId, fromOffset: 0, outputBytes: 0, cols: msg.cols, rows: msg.rows });
  }

  onAttached(msg: Msg<'shell_attached'>): void {
    this.cols = msg.cols;
    this.rows = msg.rows;
    for (const v of this.pending) v.onAttached({ sessionId: msg.sessionId, fromOffset: Math.max(v.nextOffset, msg.fromOffset), outputBytes: msg.outputBytes, cols: msg.cols, rows: msg.rows });
    this.pending.clear();
  }

  onOutput(raw: Uint8Array, frame: Frame): void {
    const end = frame.offset + frame.payload.length;
    if (end > (this.outputBytes ?? -1)) {
      this.outputBytes = end;
      this.lastOutputAt = new Date();
    }
    for (const v of this.viewers) {
      if (this.pending.has(v) || end <= v.nextOffset) continue;
      if (this.lagging.has(v) || v.bufferedAmount > LAG_BYTES) {
        // Skip while it drains; catch up from the agent's ring afterwards.
        if (!this.lagging.has(v)) {
          this.lagging.add(v);
          const poll = setInterval(() => {
            if (!this.viewers.has(v)) return clearInterval(poll);
            if (v.bufferedAmount < LAG_BYTES / 4) {
              clearInterval(poll);
              this.lagging.delete(v);
              this.attach(v, v.nextOffset);
            }
          }, 50);
        }
        continue;
      }
      const n = takeNewBytes(v.nextOffset, frame.offset, frame.payload);
      if (!n) continue;
      // Whole frame (in order, or after a gap the viewer shows), or its unseen tail re-framed.
      v.sendFrame(n.fresh === frame.payload ? raw : encodeFrame(FrameKind.ShellOutput, frame.id, n.end - n.fresh.length, n.fresh));
      v.nextOffset = n.end;
    }
  }

  onStopped(msg: Msg<'shell_stopped'>): void {
    this.roster.clear(); // ending: nobody to tell who leaves
    for (const v of this.viewers) v.onStopped(msg);
    this.viewers.clear();
    this.onEnded(msg, msg.signal ? `signal ${msg.signal}` : 'exited');
  }

  onError(msg: { code: string; message: string }): void {
    const fatal = msg.code === 'session_not_found' || msg.code === 'spawn_failed';
    if (fatal) this.roster.clear();
    for (const v of this.viewers) v.onError(msg);
    if (fatal) {
      this.viewers.clear();
      this.onEnded(null, `error: ${msg.code}`);
    }
  }

  onAgentGone(reason: string): void {
    this.roster.clear();
    for (const v of this.viewers) v.onGone(reason);
    this.viewers.clear();
  }
}
