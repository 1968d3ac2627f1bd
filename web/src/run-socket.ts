/**
 * Follows one run over `/ws/runs/{id}?offset=N`: `{type:'run'}` events on every status change,
 * output as RunStdout/RunStderr binary frames (offsets de-duplicated with takeNewBytes), and a
 * close with CloseCode.RunEnded once the run has ended and all output was sent. Any other close
 * (network drop, relay restart, TooSlow) reconnects with backoff from the last byte received,
 * so nothing is lost or shown twice. Knows nothing about the DOM.
 */
import {
  BROWSER_AUTH_SUBPROTOCOL_PREFIX,
  BROWSER_SUBPROTOCOL,
  CloseCode,
  FrameKind,
  backoffDelay,
  decodeFrame,
  runSocketEventSchema,
  takeNewBytes,
  type RunView,
} from '@rexec/shared';
import { token } from './session.js';

export type FollowState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface RunFollowEvents {
  run(run: RunView): void;
  output(data: Uint8Array, stream: 'stdout' | 'stderr', end: number): void;
  state(state: FollowState, detail?: string): void;
}

export function runSocketUrl(runId: string, offset: number, loc: Location = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws/runs/${encodeURIComponent(runId)}?offset=${offset}`;
}

export class RunFollower {
  private ws: WebSocket | null = null;
  private have: number;
  private attempt = 0;
  private timer = 0;
  private disposed = false;

  constructor(
    private readonly runId: string,
    private readonly on: RunFollowEvents,
    offset = 0,
  ) {
    this.have = offset;
    this.connect();
  }

  /** Bytes of output received so far (the resume offset). */
  get offset(): number {
    return this.have;
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
    try {
      this.ws?.close(1000, 'closed by user');
    } catch {
      /* already closing */
    }
    this.ws = null;
  }

  private connect(): void {
    const t = token();
    if (!t) {
      this.on.state('error', 'signed out');
      return;
    }
    this.on.state(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(runSocketUrl(this.runId, this.have), [BROWSER_SUBPROTOCOL, BROWSER_AUTH_SUBPROTOCOL_PREFIX + t]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.on.state('live');
    };
    ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      if (this.disposed) return;
      if (typeof ev.data === 'string') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(ev.data);
        } catch {
          return;
        }
        const r = runSocketEventSchema.safeParse(parsed);
        if (!r.success) return;
        if (r.data.type === 'run') this.on.run(r.data.run);
        else this.on.state('error', r.data.message);
        return;
      }
      let frame;
      try {
        frame = decodeFrame(new Uint8Array(ev.data));
      } catch {
        return;
      }
      if (frame.kind !== FrameKind.RunStdout && frame.kind !== FrameKind.RunStderr) return;
      const n = takeNewBytes(this.have, frame.offset, frame.payload);
      if (!n) return;
      this.have = n.end;
      this.on.output(n.fresh, frame.kind === FrameKind.RunStderr ? 'stderr' : 'stdout', n.end);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.disposed || this.ws !== ws) return;
      this.ws = null;
      if (ev.code === CloseCode.RunEnded) return this.on.state('ended');
      if (ev.code === CloseCode.Unauthorized) return this.on.state('error', 'not authorized: sign in again');
      if (ev.code === CloseCode.Normal && ev.reason === 'no such run') return this.on.state('error', 'no such run');
      // Dropped: resume from the last byte we have.
      const delay = backoffDelay(this.attempt++, 500, 10_000);
      this.on.state('reconnecting', opened ? 'connection lost' : 'cannot connect');
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }
}
