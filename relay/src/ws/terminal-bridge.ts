/**
 * One browser (or CLI) terminal socket: a viewer of one PTY session on an agent.
 * Lifecycle: idle -> starting | attaching -> running -> ended (forward only).
 *
 * `shell_start` opens a new shell; `shell_attach {sessionId, offset}` joins an existing one from
 * the offset the client has rendered (after a reload, a network drop or a relay restart). Closing
 * the socket only detaches: the shell keeps running on the agent until `shell_stop`, its exit, or
 * its idle timeout. Sessions are recorded in terminal_sessions (who, which agent, when, how it
 * ended). Who may attach and in which mode: ./viewer-access.ts (opener and admins read-write,
 * share links in their mode). Input, resize and stop from a read-only viewer are refused with
 * `read_only` and never reach the agent; resizes apply only from the session's size owner
 * (../hub/viewer-roster.ts).
 * `shell_attach {snapshot: true}` first sends the screen (`shell_snapshot`, see
 * ../hub/session-snapshot.ts) and attaches from its offset.
 */
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  PROTOCOL_VERSION,
  clientToRelaySchema,
  closeReason,
  messageTypes,
  parseControlMessage,
  type AgentToRelay,
  type RelayToClient,
  type ViewerInfo,
} from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AgentHub } from '../hub/agent-hub.js';
import type { SessionRoute, Viewer } from '../hub/session-route.js';
import type { ViewerIdentity } from '../hub/viewer-roster.js';
import { attachIdentity, openerIdentity, type TerminalAccess } from './viewer-access.js';
import { requestSnapshot } from '../hub/session-snapshot.js';
import { newId } from '../auth/secrets.js';
import { TokenBucket } from '../rate-limit.js';
import { log } from '../log.js';

const CLIENT_MESSAGE_TYPES = messageTypes(clientToRelaySchema);
const START_TIMEOUT_MS = 15_000;

type BridgeState = 'idle' | 'starting' | 'running' | 'ended';

/** Records the end of a session once, whoever notices it. */
export function recordSessionEnd(prisma: PrismaClient, sessionId: string, exitCode: number | null, endReason: string): void {
  prisma.terminalSession
    .updateMany({ where: { id: sessionId, endedAt: null }, data: { exitCode, endReason, endedAt: new Date() } })
    .catch((err) => log.warn('could not record the end of a terminal session', { err: err.message }));
}

export class TerminalBridge implements Viewer {
  nextOffset = 0;
  private state: BridgeState = 'idle';
  /** A new shell answers shell_started, an attach shell_attached. */
  private mode: 'new' | 'attach' = 'new';
  private route: SessionRoute | null = null;
  private sessionId: string | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private readonly bucket = new TokenBucket(LIMITS.messagesPerSecond, LIMITS.messageBurst);
  /** Set when the socket starts or attaches to a session. */
  private who: ViewerIdentity | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly agent: { id: string; name: string },
    private readonly access: TerminalAccess,
    private readonly hub: AgentHub,
    private readonly prisma: PrismaClient,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onClientClose());
    ws.on('error', (err) => log.debug('terminal socket error', { err: err.message }));
    this.sendJson({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentId: agent.id, agentName: agent.name });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get identity(): ViewerIdentity {
    if (!this.who) throw new Error('terminal bridge without identity');
    return this.who;
  }

  /** Refuses what a read-only viewer may not do; true when refused. */
  private refusedReadOnly(what: 'shell_input' | 'shell_resize' | 'shell_stop'): boolean {
    if (this.who?.mode !== 'ro') return false;
    const verb = what === 'shell_input' ? 'type into' : what === 'shell_resize' ? 'resize' : 'stop';
    this.error(ErrorCode.ReadOnly, `read-only viewer: you cannot ${verb} this session`, what);
    return true;
  }

  private sendJson(msg: RelayToClient): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private error(code: string, message: string, ref?: string): void {
    this.sendJson({ type: 'error', code, message, ...(ref ? { ref } : {}) });
  }

  private end(code: number, reason: string): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.startTimer) clearTimeout(this.startTimer);
    this.route?.detach(this);
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!this.bucket.take()) {
      this.end(CloseCode.RateLimited, 'too many messages');
      return;
    }
    if (isBinary) return this.error(ErrorCode.InvalidMessage, 'binary messages are not accepted from clients');
    const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
    const r = parseControlMessage(clientToRelaySchema, text, CLIENT_MESSAGE_TYPES);
    if (!r.ok) return this.error(r.code, r.message, r.ref);
    const msg = r.message;
    switch (msg.type) {
      case 'ping':
        return this.sendJson({ type: 'pong', ts: msg.ts });
      case 'shell_start':
        return void this.start(msg.cols, msg.rows);
      case 'shell_attach':
        return void this.attach(msg.sessionId, msg.offset, msg.readOnly === true, msg.snapshot === true);
      case 'ack':
        if (this.state === 'running') this.route!.ack(this, msg.offset);
        return;
      case 'shell_input':
        if (this.state !== 'running') return this.error(ErrorCode.SessionNotFound, 'no running session: send shell_start or shell_attach first', msg.type);
        if (this.refusedReadOnly(msg.type)) return;
        this.route!.link.send({ type: 'shell_input', sessionId: this.sessionId!, data: msg.data });
        return;
      case 'shell_resize':
        if (this.state !== 'running') return this.error(ErrorCode.SessionNotFound, 'no running session: send shell_start or shell_attach first', msg.type);
        if (this.refusedReadOnly(msg.type)) return;
        this.route!.resize(this, msg.cols, msg.rows);
        return;
      case 'shell_stop':
        if (this.refusedReadOnly(msg.type)) return;
        if (this.route) this.route.link.send({ type: 'shell_stop', sessionId: this.sessionId! });
        return;
    }
  }

  private onEnded = (sessionId: string) => (exitCode: number | null, reason: string) => recordSessionEnd(this.prisma, sessionId, exitCode, reason);

  private armStartTimer(): void {
    this.startTimer = setTimeout(() => {
      this.error(ErrorCode.Internal, 'the agent did not answer in time');
      this.end(CloseCode.InternalError, 'agent did not answer');
    }, START_TIMEOUT_MS);
  }

  private async start(cols: number, rows: number): Promise<void> {
    if (this.state !== 'idle') return this.error(ErrorCode.Conflict, 'this socket already has a session', 'shell_start');
    const who = openerIdentity(this.access);
    if (!who) return this.error(ErrorCode.Forbidden, 'a share link can only attach to its session, not start a shell', 'shell_start');
    const link = this.hub.get(this.agent.id);
    if (!link) {
      this.error(ErrorCode.AgentOffline, `agent ${this.agent.name} is offline`, 'shell_start');
      return this.end(CloseCode.AgentOffline, 'agent is offline');
    }
    this.state = 'starting';
    this.who = who;
    const sessionId = (this.sessionId = newId());
    this.armStartTimer();
    await this.prisma.terminalSession
      .create({ data: { id: sessionId, agentId: this.agent.id, openedBy: who.actor, cols, rows } })
      .catch((err) => log.warn('could not record terminal session', { err: err.message }));
    if (this.state !== 'starting') return; // the client left while we were recording
    this.route = link.route(sessionId, this.onEnded(sessionId));
    this.route.startNew(this);
    link.send({ type: 'shell_start', sessionId, cols, rows });
    log.info('terminal opened', { agent: this.agent.name, session: sessionId, by: who.actor });
  }

  private async attach(sessionId: string, offset: number, readOnly: boolean, snapshot = false): Promise<void> {
    if (this.state !== 'idle') return this.error(ErrorCode.Conflict, 'this socket already has a session', 'shell_attach');
    this.state = 'starting';
    this.mode = 'attach';
    const row = await this.prisma.terminalSession.findUnique({ where: { id: sessionId } });
    if (this.state !== 'starting') return;
    const who = row && row.agentId === this.agent.id ? attachIdentity(this.access, row, readOnly) : null;
    if (!row || !who) {
      this.error(ErrorCode.SessionNotFound, 'no such session on this agent', 'shell_attach');
      return this.end(CloseCode.SessionEnded, 'no such session');
    }
    if (row.endedAt) {
      this.sendJson({ type: 'shell_stopped', sessionId, exitCode: row.exitCode, signal: null });
      return this.end(CloseCode.SessionEnded, `session ended (${row.endReason ?? 'ended'})`);
    }
    const link = this.hub.get(this.agent.id);
    if (!link) {
      this.error(ErrorCode.AgentOffline, `agent ${this.agent.name} is offline`, 'shell_attach');
      return this.end(CloseCode.AgentOffline, 'agent is offline');
    }
    if (!link.hasSession(sessionId)) {
      recordSessionEnd(this.prisma, sessionId, null, 'lost');
      this.error(ErrorCode.SessionNotFound, 'the agent no longer has this session', 'shell_attach');
      return this.end(CloseCode.SessionEnded, 'session lost');
    }
    this.sessionId = sessionId;
    this.who = who;
    if (snapshot) {
      // "Nothing rendered here": start from the screen as of some offset, then stream from there.
      const snap = await requestSnapshot(link, sessionId);
      if (this.state !== 'starting') return;
      if (snap) {
        this.sendJson({ type: 'shell_snapshot', ...snap });
        offset = snap.offset;
      }
    }
    this.armStartTimer();
    this.route = link.route(sessionId, this.onEnded(sessionId));
    this.route.attach(this, offset);
    log.info('terminal attached', { agent: this.agent.name, session: sessionId, offset, by: who.actor, mode: who.mode });
  }

  // ---- Viewer (from the session route) -------------------------------------------------------

  sendFrame(raw: Uint8Array): void {
    if (this.state === 'running' && this.ws.readyState === this.ws.OPEN) this.ws.send(raw, { binary: true });
  }

  onAttached(msg: { sessionId: string; fromOffset: number; outputBytes: number; cols: number; rows: number }): void {
    if (this.state !== 'starting') return;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.state = 'running';
    if (this.mode === 'new') this.sendJson({ type: 'shell_started', sessionId: msg.sessionId, cols: msg.cols, rows: msg.rows });
    else this.sendJson({ type: 'shell_attached', sessionId: msg.sessionId, fromOffset: msg.fromOffset, outputBytes: msg.outputBytes, cols: msg.cols, rows: msg.rows });
  }

  onViewers(viewers: (ViewerInfo & { you: boolean })[]): void {
    if (this.sessionId) this.sendJson({ type: 'viewers', sessionId: this.sessionId, viewers });
  }

  onResized(cols: number, rows: number): void {
    if (this.sessionId) this.sendJson({ type: 'shell_resized', sessionId: this.sessionId, cols, rows });
  }

  onStopped(msg: Extract<AgentToRelay, { type: 'shell_stopped' }>): void {
    this.sendJson({ type: 'shell_stopped', sessionId: msg.sessionId, exitCode: msg.exitCode, signal: msg.signal });
    this.end(CloseCode.SessionEnded, msg.signal ? `shell ended by ${msg.signal}` : `shell exited with code ${msg.exitCode}`);
  }

  onError(msg: { code: string; message: string }): void {
    this.error(msg.code, msg.message);
    if (this.state === 'starting') this.end(CloseCode.SessionEnded, msg.message);
  }

  onGone(reason: string): void {
    this.error(ErrorCode.AgentOffline, `agent ${this.agent.name} disconnected`);
    this.end(CloseCode.AgentOffline, reason);
  }

  private onClientClose(): void {
    if (this.route && this.state !== 'ended') log.info('terminal detached', { agent: this.agent.name, session: this.sessionId });
    this.end(CloseCode.Normal, 'closed');
  }
}
