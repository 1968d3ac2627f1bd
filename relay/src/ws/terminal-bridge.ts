/**
 * One browser (or CLI) terminal socket bridged to one PTY session on an agent.
 * Lifecycle: idle -> starting -> running -> ended (forward only).
 * The session is recorded in terminal_sessions (who, which agent, when, how it ended).
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
  type Frame,
  type RelayToClient,
} from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AgentHub } from '../hub/agent-hub.js';
import type { AgentLink } from '../hub/agent-link.js';
import type { SessionSink } from '../hub/sinks.js';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { newId } from '../auth/secrets.js';
import { TokenBucket } from '../rate-limit.js';
import { log } from '../log.js';

const CLIENT_MESSAGE_TYPES = messageTypes(clientToRelaySchema);
const START_TIMEOUT_MS = 15_000;

type BridgeState = 'idle' | 'starting' | 'running' | 'ended';

export class TerminalBridge implements SessionSink {
  private state: BridgeState = 'idle';
  private sessionId: string | null = null;
  private link: AgentLink | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private readonly bucket = new TokenBucket(LIMITS.messagesPerSecond, LIMITS.messageBurst);

  constructor(
    private readonly ws: WebSocket,
    private readonly agent: { id: string; name: string },
    private readonly principal: Principal,
    private readonly hub: AgentHub,
    private readonly prisma: PrismaClient,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onClientClose());
    ws.on('error', (err) => log.debug('terminal socket error', { err: err.message }));
    this.sendJson({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentId: agent.id, agentName: agent.name });
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
    if (this.sessionId && this.link) this.link.sessions.delete(this.sessionId);
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
      case 'shell_input':
        if (this.state !== 'running') return this.error(ErrorCode.SessionNotFound, 'no running session: send shell_start first', msg.type);
        this.link!.send({ type: 'shell_input', sessionId: this.sessionId!, data: msg.data });
        return;
      case 'shell_resize':
        if (this.state !== 'running') return this.error(ErrorCode.SessionNotFound, 'no running session: send shell_start first', msg.type);
        this.link!.send({ type: 'shell_resize', sessionId: this.sessionId!, cols: msg.cols, rows: msg.rows });
        return;
      case 'shell_stop':
        if (this.state === 'running' || this.state === 'starting') this.link!.send({ type: 'shell_stop', sessionId: this.sessionId! });
        return;
    }
  }

  private async start(cols: number, rows: number): Promise<void> {
    if (this.state !== 'idle') return this.error(ErrorCode.Conflict, 'this socket already has a session', 'shell_start');
    const link = this.hub.get(this.agent.id);
    if (!link) {
      this.error(ErrorCode.AgentOffline, `agent ${this.agent.name} is offline`, 'shell_start');
      this.end(CloseCode.AgentOffline, 'agent is offline');
      return;
    }
    this.state = 'starting';
    this.link = link;
    this.sessionId = newId();
    link.sessions.set(this.sessionId, this);
    this.startTimer = setTimeout(() => {
      this.error(ErrorCode.Internal, 'the agent did not start the shell in time', 'shell_start');
      this.link?.send({ type: 'shell_stop', sessionId: this.sessionId! });
      this.end(CloseCode.InternalError, 'shell start timed out');
    }, START_TIMEOUT_MS);
    await this.prisma.terminalSession
      .create({ data: { id: this.sessionId, agentId: this.agent.id, openedBy: describePrincipal(this.principal), cols, rows } })
      .catch((err) => log.warn('could not record terminal session', { err: err.message }));
    if (this.state !== 'starting') return; // the client left while we were recording
    link.send({ type: 'shell_start', sessionId: this.sessionId, cols, rows });
    log.info('terminal opened', { agent: this.agent.name, session: this.sessionId, by: describePrincipal(this.principal) });
  }

  // ---- SessionSink (from the agent) --------------------------------------------------------

  onStarted(msg: { sessionId: string; cols: number; rows: number }): void {
    if (this.state !== 'starting') return;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.state = 'running';
    this.sendJson({ type: 'shell_started', sessionId: msg.sessionId, cols: msg.cols, rows: msg.rows });
  }

  onOutput(raw: Uint8Array, _frame: Frame): void {
    if (this.state === 'running' && this.ws.readyState === this.ws.OPEN) this.ws.send(raw, { binary: true });
  }

  onStopped(msg: { sessionId: string; exitCode: number | null; signal: string | null }): void {
    this.sendJson({ type: 'shell_stopped', sessionId: msg.sessionId, exitCode: msg.exitCode, signal: msg.signal });
    this.record({ exitCode: msg.exitCode, endReason: msg.signal ? `signal ${msg.signal}` : 'exited' });
    this.end(CloseCode.SessionEnded, msg.signal ? `shell ended by ${msg.signal}` : `shell exited with code ${msg.exitCode}`);
  }

  onError(msg: { code: string; message: string }): void {
    this.error(msg.code, msg.message);
    if (this.state === 'starting') {
      this.record({ exitCode: null, endReason: `error: ${msg.code}` });
      this.end(CloseCode.SessionEnded, msg.message);
    }
  }

  onAgentGone(reason: string): void {
    this.record({ exitCode: null, endReason: 'agent disconnected' });
    this.error(ErrorCode.AgentOffline, `agent ${this.agent.name} disconnected`);
    this.end(CloseCode.AgentOffline, reason);
  }

  private onClientClose(): void {
    if (this.sessionId && this.link && (this.state === 'running' || this.state === 'starting')) {
      this.link.send({ type: 'shell_stop', sessionId: this.sessionId });
      this.record({ exitCode: null, endReason: 'closed by client' });
      log.info('terminal closed', { agent: this.agent.name, session: this.sessionId });
    }
    this.end(CloseCode.Normal, 'closed');
  }

  private record(data: { exitCode: number | null; endReason: string }): void {
    if (!this.sessionId) return;
    this.prisma.terminalSession
      .updateMany({ where: { id: this.sessionId, endedAt: null }, data: { ...data, endedAt: new Date() } })
      .catch(() => {});
  }
}
