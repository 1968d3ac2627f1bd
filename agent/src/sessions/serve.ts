/**
 * The link messages about one existing session, answered for one ShellSession. Used where the
 * session lives: in a session host (host.ts, answers go to the agent over the host socket) and in
 * the agent itself for in-process sessions (tests with a fake PTY).
 */
import { ErrorCode, type AgentToRelay, type RelayToAgent } from '@rexec/shared';
import type { ShellSession } from './session.js';
import type { ScreenMirror } from './screen-mirror.js';

export type SessionMessage = Extract<
  RelayToAgent,
  { type: 'shell_input' | 'shell_resize' | 'shell_stop' | 'shell_attach' | 'shell_detach' | 'shell_ack' | 'shell_peek' | 'shell_nudge' | 'shell_snapshot' }
>;

export interface Replier {
  sendJson(msg: AgentToRelay): boolean;
}

export function serveSessionMessage(s: ShellSession, msg: SessionMessage, out: Replier, mirror?: ScreenMirror): void {
  switch (msg.type) {
    case 'shell_input':
      return s.write(msg.data);
    case 'shell_resize':
      return s.resize(msg.cols, msg.rows);
    case 'shell_stop':
      return s.stop();
    case 'shell_attach': {
      const fromOffset = s.attach(msg.offset);
      out.sendJson({ type: 'shell_attached', sessionId: s.id, fromOffset, outputBytes: s.outputBytes, cols: s.cols, rows: s.rows });
      return s.kick();
    }
    case 'shell_detach':
      return s.detach();
    case 'shell_ack':
      return s.ack(msg.offset);
    case 'shell_peek':
      out.sendJson({
        type: 'shell_peek_result',
        sessionId: s.id,
        requestId: msg.requestId,
        data: s.recent(msg.bytes).toString('base64'),
        outputBytes: s.outputBytes,
        idleMs: s.idleMs,
      });
      return;
    case 'shell_nudge':
      void s.nudge(msg.data, msg.quietMs, msg.timeoutMs).then((r) => out.sendJson({ type: 'shell_nudge_result', sessionId: s.id, requestId: msg.requestId, ...r }));
      return;
    case 'shell_snapshot':
      if (!mirror) {
        out.sendJson({ type: 'shell_error', sessionId: s.id, code: ErrorCode.InvalidMessage, message: 'this session keeps no screen mirror' });
        return;
      }
      void mirror.snapshot().then(
        (snap) => out.sendJson({ type: 'shell_snapshot_result', sessionId: s.id, requestId: msg.requestId, data: Buffer.from(snap.data, 'utf8').toString('base64'), offset: snap.offset, cols: snap.cols, rows: snap.rows }),
        (err: Error) => out.sendJson({ type: 'shell_error', sessionId: s.id, code: ErrorCode.Internal, message: `snapshot failed: ${err.message}` }),
      );
      return;
  }
}
