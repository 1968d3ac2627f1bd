/**
 * WebSocket upgrades. Everything is decided BEFORE the 101: route, per-IP rate, credentials,
 * Origin (browser sockets), the agent's existence. A refusal is a plain HTTP response with the
 * usual JSON error body, so clients can tell a bad token from a network failure.
 *
 *   /ws/agent/{agent_id}       agent link; `Authorization: Bearer <agent credential>`
 *                              (`?token=` accepted for compatibility, never logged)
 *   /ws/terminal/{agent}       terminal; agent by id or name; session JWT in the
 *                              Sec-WebSocket-Protocol header, or `Authorization: Bearer` (CLI)
 *   /ws/runs/{run}?offset=N    follow a run's output and status (viewer role); same auth
 *   /ws/share                  a terminal through a share link: the rxs_ token in the
 *                              Sec-WebSocket-Protocol header (SHARE_AUTH_SUBPROTOCOL_PREFIX), or
 *                              `Authorization: Bearer` (CLI); never in the query string
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  BROWSER_AUTH_SUBPROTOCOL_PREFIX,
  BROWSER_SUBPROTOCOL,
  ErrorCode,
  LIMITS,
  RexecError,
  SHARE_AUTH_SUBPROTOCOL_PREFIX,
} from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { bearerFrom, hasRole, type Authenticator, type Principal } from '../auth/principal.js';
import type { AgentHub } from '../hub/agent-hub.js';
import { KeyedRateLimiter } from '../rate-limit.js';
import { log } from '../log.js';
import { TerminalBridge } from './terminal-bridge.js';
import { findUsableAgent, usableAgentIds } from '../agents/lookup.js';
import type { RunEngine } from '../runs/run-engine.js';
import { followRun } from './run-socket.js';
import type { LiveSockets } from './live-sockets.js';
import { auditLog } from '../audit/audit-log.js';
import { describePrincipal } from '../auth/principal.js';
import type { EventBus } from '../events/event-bus.js';
import type { ShareSockets } from '../shares/share-sockets.js';
import { resolveShare } from '../shares/share-store.js';

export interface UpgradeDeps {
  prisma: PrismaClient;
  auth: Authenticator;
  hub: AgentHub;
  runs: RunEngine;
  liveSockets: LiveSockets;
  events?: EventBus;
  shareSockets: ShareSockets;
  isOriginAllowed(origin: string): boolean;
}

function refuse(socket: Duplex, err: RexecError): void {
  const body = JSON.stringify(err.toBody());
  const statusText: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };
  socket.end(
    `HTTP/1.1 ${err.status} ${statusText[err.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  socket.destroy();
}

/** The secret a terminal client presents: sub-protocol entry or Authorization header. */
function terminalSecret(req: IncomingMessage, prefix = BROWSER_AUTH_SUBPROTOCOL_PREFIX): string | undefined {
  const protos = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const auth = protos.find((p) => p.startsWith(prefix));
  return auth ? auth.slice(prefix.length) : bearerFrom(req.headers.authorization);
}

export function createUpgradeHandler(deps: UpgradeDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxMessageBytes,
    perMessageDeflate: false,
    // Answer only the protocol name, never echo the token entry back.
    handleProtocols: (protocols) => (protocols.has(BROWSER_SUBPROTOCOL) ? BROWSER_SUBPROTOCOL : false),
  });
  const perIp = new KeyedRateLimiter(10, 40);

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (!perIp.take(ip)) throw new RexecError(ErrorCode.RateLimited, 'too many connection attempts; slow down');

    let m = /^\/ws\/agent\/([A-Za-z0-9_-]{1,64})\/?$/.exec(url.pathname);
    if (m) {
      const agentId = m[1]!;
      const secret = bearerFrom(req.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
      const principal = await deps.auth.authenticate(secret);
      if (!principal || principal.kind !== 'agent') throw new RexecError(ErrorCode.Unauthorized, 'agent credential missing, invalid or revoked');
      if (principal.id !== agentId) throw new RexecError(ErrorCode.Forbidden, 'this credential belongs to a different agent');
      wss.handleUpgrade(req, socket, head, (ws) => deps.hub.attach(ws, { id: principal.id, name: principal.name }));
      return;
    }

    /** Browsers always send Origin; a cross-site page must never reach a terminal or a run. */
    const checkOrigin = (what: string) => {
      const origin = req.headers.origin;
      if (origin !== undefined && !deps.isOriginAllowed(origin)) {
        log.warn(`${what} upgrade refused: origin not allowed`, { origin, ip });
        throw new RexecError(ErrorCode.Forbidden, `origin ${origin} is not allowed`);
      }
    };

    /** A person's socket (browser or CLI): Origin, credentials and role, all before the 101. */
    const personal = async (what: string, min: 'viewer' | 'operator'): Promise<Principal> => {
      checkOrigin(what);
      const principal: Principal | null = await deps.auth.authenticate(terminalSecret(req));
      if (!principal || principal.kind === 'agent') throw new RexecError(ErrorCode.Unauthorized, 'sign in first: missing, invalid or expired session');
      if (principal.kind === 'user' && principal.mustChangePassword) throw new RexecError(ErrorCode.Forbidden, 'password change required');
      if (!hasRole(principal, min)) throw new RexecError(ErrorCode.Forbidden, `${what}s need the ${min} role`);
      return principal;
    };

    m = /^\/ws\/runs\/([A-Za-z0-9_-]{1,64})\/?$/.exec(url.pathname);
    if (m) {
      const principal = await personal('run socket', 'viewer');
      const runId = m[1]!;
      const offset = Number(url.searchParams.get('offset') ?? '0');
      if (!Number.isSafeInteger(offset) || offset < 0) throw new RexecError(ErrorCode.ValidationFailed, 'offset must be a non-negative integer');
      const row = await deps.prisma.run.findUnique({ where: { id: runId }, select: { agentId: true } });
      const allowed = await usableAgentIds(deps.prisma, principal);
      if (!row || (allowed && !allowed.includes(row.agentId))) throw new RexecError(ErrorCode.NotFound, 'no such run');
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        deps.liveSockets.add(ws, principal);
        followRun(ws, runId, offset, deps.runs, deps.prisma);
      });
      return;
    }

    m = /^\/ws\/terminal\/([^/]{1,128})\/?$/.exec(url.pathname);
    if (m) {
      const principal = await personal('terminal', 'operator');
      const agent = await findUsableAgent(deps.prisma, decodeURIComponent(m[1]!), principal);
      if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        deps.liveSockets.add(ws, principal);
        // Who, which agent, how long: one entry when the terminal socket opens, one when it closes.
        const opened = Date.now();
        const actor = describePrincipal(principal);
        void auditLog(deps.prisma).record({ actor, action: 'terminal.open', target: agent.name, ip });
        const terminal = { agentId: agent.id, agentName: agent.name, openedBy: actor };
        deps.events?.publish({ type: 'terminal.opened', ...terminal }, { agentId: agent.id, owner: actor });
        ws.once('close', (code) => {
          void auditLog(deps.prisma).record({ actor, action: 'terminal.close', target: agent.name, ip, details: { seconds: Math.round((Date.now() - opened) / 1000), code } });
          deps.events?.publish({ type: 'terminal.ended', ...terminal }, { agentId: agent.id, owner: actor });
        });
        new TerminalBridge(ws, { id: agent.id, name: agent.name }, { kind: 'person', principal }, deps.hub, deps.prisma);
      });
      return;
    }

    if (/^\/ws\/share\/?$/.test(url.pathname)) {
      checkOrigin('share');
      const found = await resolveShare(deps.prisma, terminalSecret(req, SHARE_AUTH_SUBPROTOCOL_PREFIX));
      if (!found.ok) {
        // Tries of a known link after its end are worth a record; unknown tokens only a log line.
        if (found.row) void auditLog(deps.prisma).record({ actor: `share:${found.row.id}`, action: 'share.refused', target: found.row.sessionId, ip, details: { reason: found.reason } });
        throw new RexecError(found.reason === 'ended' ? ErrorCode.SessionNotFound : ErrorCode.Unauthorized, found.message);
      }
      const { grant, agent } = found;
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        deps.shareSockets.add(ws, grant.id, grant.expiresAt);
        const opened = Date.now();
        const actor = `share:${grant.id}`;
        void deps.prisma.terminalShare.update({ where: { id: grant.id }, data: { lastUsedAt: new Date() } }).catch(() => {});
        void auditLog(deps.prisma).record({ actor, action: 'share.use', target: grant.sessionId, ip, details: { mode: grant.mode, label: grant.label, agent: agent.name } });
        ws.once('close', (code) => void auditLog(deps.prisma).record({ actor, action: 'share.close', target: grant.sessionId, ip, details: { seconds: Math.round((Date.now() - opened) / 1000), code } }));
        new TerminalBridge(ws, agent, { kind: 'share', share: grant }, deps.hub, deps.prisma);
      });
      return;
    }
    throw new RexecError(ErrorCode.NotFound, `no WebSocket endpoint at ${url.pathname}`);
  }

  return {
    wss,
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => socket.destroy());
      handle(req, socket, head).catch((err) => {
        if (err instanceof RexecError) {
          log.info('upgrade refused', { path: (req.url ?? '').split('?')[0], status: err.status, reason: err.message });
          refuse(socket, err);
        } else {
          log.error('upgrade failed', { err: (err as Error).message });
          refuse(socket, new RexecError(ErrorCode.Internal, 'internal error'));
        }
      });
    },
  };
}
