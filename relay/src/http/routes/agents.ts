import { Router } from 'express';
import {
  CloseCode,
  ErrorCode,
  RexecError,
  execRequestSchema,
  registerAgentRequestSchema,
  updateAgentRequestSchema,
  LIMITS,
  type AgentMetricsResponse,
  nudgeRequestSchema,
  type AgentToRelay,
  type ExecEvent,
  type NudgeResponse,
  type SessionRecent,
  type SessionView,
} from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { AgentHub } from '../../hub/agent-hub.js';
import type { ExecHandle, ExecService } from '../../exec/exec-service.js';
import { agentView, findAgent, findUsableAgent } from '../../agents/lookup.js';
import { newId, newSecret } from '../../auth/secrets.js';
import { canUseAgent, describePrincipal, hasRole } from '../../auth/principal.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';
import type { EventBus } from '../../events/event-bus.js';

/** Creates an agent and its credential (shown once); 409 when the name is taken. */
export async function registerWith(
  prisma: PrismaClient,
  body: ReturnType<typeof registerAgentRequestSchema.parse>,
  by: string,
  ip: string,
  audit: ReturnType<typeof auditLog>,
  events?: EventBus,
): Promise<{ agent: ReturnType<typeof agentView>; credential: string }> {
  const { secret, hash } = newSecret('agentCredential');
  try {
    const agent = await prisma.agent.create({ data: { ...body, credentialHash: hash } });
    log.info('agent registered', { agent: agent.name, id: agent.id, by });
    await audit.record({ actor: by, action: 'agent.register', target: agent.name, ip, details: { id: agent.id, tags: agent.tags } });
    const view = agentView(agent, false);
    events?.publish({ type: 'agent.updated', agent: view }, { agentId: agent.id });
    return { agent: view, credential: secret };
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new RexecError(ErrorCode.Conflict, `an agent named "${body.name}" already exists`);
    throw err;
  }
}

export function agentsRouter(prisma: PrismaClient, hub: AgentHub, execs: ExecService, events?: EventBus): Router {
  const r = Router();
  const audit = auditLog(prisma);

  r.post('/agents/register', requireRole('operator'), async (req, res) => {
    const body = parseBody(registerAgentRequestSchema, req.body);
    const agent = await registerWith(prisma, body, describePrincipal(principalOf(res)), clientIp(req), audit, events);
    res.status(201).json(agent);
  });

  r.get('/agents', requireRole('viewer'), async (req, res) => {
    const tag = typeof req.query.tag === 'string' ? req.query.tag : undefined;
    const p = principalOf(res);
    const rows = (await prisma.agent.findMany({ where: tag ? { tags: { has: tag } } : {}, orderBy: { name: 'asc' } })).filter((a) => canUseAgent(p, a));
    let agents = rows.map((a) => agentView(a, hub.get(a.id) !== undefined));
    if (req.query.status === 'online' || req.query.status === 'offline') agents = agents.filter((a) => a.status === req.query.status);
    res.json({ agents });
  });

  r.get('/agents/:agent', async (req, res) => {
    const p = principalOf(res);
    const agent = await findAgent(prisma, String(req.params.agent));
    if (!agent || !canUseAgent(p, agent) || (p.kind !== 'agent' && !hasRole(p, 'viewer'))) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    res.json({ agent: agentView(agent, hub.get(agent.id) !== undefined) });
  });

  /** Renames and/or re-tags an agent (admin). Names stay unique (409); the live link keeps going under the new name. */
  r.patch('/agents/:agent', requireRole('admin'), async (req, res) => {
    const body = parseBody(updateAgentRequestSchema, req.body);
    const p = principalOf(res);
    const agent = await findAgent(prisma, String(req.params.agent));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    const updated = await prisma.agent
      .update({ where: { id: agent.id }, data: { ...(body.name !== undefined ? { name: body.name } : {}), ...(body.tags !== undefined ? { tags: [...new Set(body.tags)] } : {}) } })
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === 'P2002') throw new RexecError(ErrorCode.Conflict, `an agent named "${body.name}" already exists`);
        throw err;
      });
    hub.rename(updated.id, updated.name);
    const changes = {
      ...(updated.name !== agent.name ? { name: { from: agent.name, to: updated.name } } : {}),
      ...(body.tags !== undefined ? { tags: { from: agent.tags, to: updated.tags } } : {}),
    };
    log.info('agent updated', { agent: updated.name, id: updated.id, by: describePrincipal(p), ...(changes.name ? { was: agent.name } : {}) });
    await audit.record({ actor: describePrincipal(p), action: 'agent.update', target: updated.name, ip: clientIp(req), details: { id: updated.id, ...changes } });
    const view = agentView(updated, hub.get(updated.id) !== undefined);
    events?.setTags(updated.id, updated.tags);
    events?.publish({ type: 'agent.updated', agent: view }, { agentId: updated.id });
    res.json({ agent: view });
  });

  /** The last host-metrics samples (oldest first) the relay holds for an agent. */
  r.get('/agents/:agent/metrics', requireRole('viewer'), async (req, res) => {
    const agent = await findUsableAgent(prisma, String(req.params.agent), principalOf(res));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    const body: AgentMetricsResponse = { agentId: agent.id, samples: hub.metrics.of(agent.id) };
    res.json(body);
  });

  /** Open terminal sessions of an agent; non-admins see only the sessions they opened. */
  r.get('/agents/:agent/sessions', requireRole('viewer'), async (req, res) => {
    const p = principalOf(res);
    const agent = await findUsableAgent(prisma, String(req.params.agent), p);
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    const rows = await prisma.terminalSession.findMany({
      where: { agentId: agent.id, endedAt: null, ...(hasRole(p, 'admin') ? {} : { openedBy: describePrincipal(p) }) },
      orderBy: { startedAt: 'asc' },
    });
    const link = hub.get(agent.id);
    const sessions: SessionView[] = rows.map((row) => {
      const route = link?.sessions.get(row.id);
      return {
        id: row.id,
        agentId: agent.id,
        openedBy: row.openedBy,
        startedAt: row.startedAt.toISOString(),
        cols: route?.cols ?? row.cols,
        rows: route?.rows ?? row.rows,
        live: link?.hasSession(row.id) ?? false,
        viewers: route?.viewers.size ?? 0,
        attached: route?.roster.list() ?? [],
        outputBytes: route?.outputBytes ?? link?.helloOutputBytes(row.id) ?? null,
        lastOutputAt: route?.lastOutputAt?.toISOString() ?? null,
      };
    });
    res.json({ sessions });
  });

  /** An open session of an agent that the caller may use (own, or any for admins), on a live link. */
  async function liveSession(agentRef: string, sessionId: string, p: ReturnType<typeof principalOf>) {
    const agent = await findUsableAgent(prisma, agentRef, p);
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    const row = await prisma.terminalSession.findUnique({ where: { id: sessionId } });
    if (!row || row.agentId !== agent.id || row.endedAt || (!hasRole(p, 'admin') && row.openedBy !== describePrincipal(p))) {
      throw new RexecError(ErrorCode.SessionNotFound, 'no such open session on this agent');
    }
    const link = hub.get(agent.id);
    if (!link) throw new RexecError(ErrorCode.AgentOffline, `agent ${agent.name} is offline`);
    if (!link.hasSession(sessionId)) throw new RexecError(ErrorCode.SessionNotFound, 'the agent no longer has this session');
    return { agent, link };
  }

  /** The most recent output of a session and how long it has been quiet. */
  r.get('/agents/:agent/sessions/:session/recent', requireRole('viewer'), async (req, res) => {
    const bytes = req.query.bytes === undefined ? 4096 : Number(req.query.bytes);
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > LIMITS.maxPeekBytes) throw new RexecError(ErrorCode.ValidationFailed, `bytes must be 1-${LIMITS.maxPeekBytes}`);
    const { link } = await liveSession(String(req.params.agent), String(req.params.session), principalOf(res));
    const answer = await link
      .request<Extract<AgentToRelay, { type: 'shell_peek_result' }>>({ type: 'shell_peek', sessionId: String(req.params.session), requestId: newId(), bytes }, 10_000)
      .catch((err: Error) => {
        throw new RexecError(ErrorCode.AgentOffline, err.message);
      });
    const body: SessionRecent = { text: Buffer.from(answer.data, 'base64').toString('utf8'), outputBytes: answer.outputBytes, idleMs: answer.idleMs };
    res.json(body);
  });

  /** Types a message into a session, at once or once it has been quiet (AI agents in terminals). */
  r.post('/agents/:agent/sessions/:session/nudge', requireRole('operator'), async (req, res) => {
    const body = parseBody(nudgeRequestSchema, req.body);
    const p = principalOf(res);
    const { agent, link } = await liveSession(String(req.params.agent), String(req.params.session), p);
    const timeoutMs = Math.round(body.timeoutSec * 1000);
    const answer = await link
      .request<Extract<AgentToRelay, { type: 'shell_nudge_result' }>>(
        { type: 'shell_nudge', sessionId: String(req.params.session), requestId: newId(), data: body.text, quietMs: Math.round(body.whenIdleSec * 1000), timeoutMs },
        timeoutMs + 10_000,
      )
      .catch((err: Error) => {
        throw new RexecError(ErrorCode.AgentOffline, err.message);
      });
    await audit.record({ actor: describePrincipal(p), action: 'terminal.nudge', target: agent.name, ip: clientIp(req), details: { session: String(req.params.session), status: answer.status } });
    log.info('nudge', { agent: agent.name, session: String(req.params.session), status: answer.status, by: describePrincipal(p) });
    const out: NudgeResponse = { status: answer.status, ...(answer.idleMs !== undefined ? { idleMs: answer.idleMs } : {}) };
    res.json(out);
  });

  /** Deleting needs admin, or the agent's own credential (`rexec-agent unregister`). */
  r.delete('/agents/:agent', async (req, res) => {
    const p = principalOf(res);
    const agent = await findAgent(prisma, String(req.params.agent));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    if (!(p.kind === 'agent' ? p.id === agent.id : hasRole(p, 'admin'))) throw new RexecError(ErrorCode.Forbidden, 'deleting an agent needs the admin role');
    await prisma.agent.delete({ where: { id: agent.id } });
    hub.disconnect(agent.id, CloseCode.AgentDeleted, 'agent deleted');
    hub.metrics.forget(agent.id);
    events?.publish({ type: 'agent.deleted', agentId: agent.id, name: agent.name }, { agentId: agent.id });
    log.info('agent deleted', { agent: agent.name, by: describePrincipal(p) });
    await audit.record({ actor: describePrincipal(p), action: 'agent.delete', target: agent.name, ip: clientIp(req), details: { id: agent.id } });
    res.status(204).end();
  });

  /** Rotates the agent credential. The live link stays up; the old credential stops working. */
  r.post('/agents/:agent/credential', async (req, res) => {
    const p = principalOf(res);
    const agent = await findAgent(prisma, String(req.params.agent));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    if (!(p.kind === 'agent' ? p.id === agent.id : hasRole(p, 'admin'))) throw new RexecError(ErrorCode.Forbidden, 'rotating a credential needs the admin role');
    const { secret, hash } = newSecret('agentCredential');
    await prisma.agent.update({ where: { id: agent.id }, data: { credentialHash: hash } });
    log.info('agent credential rotated', { agent: agent.name, by: describePrincipal(p) });
    await audit.record({ actor: describePrincipal(p), action: 'agent.credential_rotate', target: agent.name, ip: clientIp(req) });
    res.json({ agentId: agent.id, credential: secret });
  });

  /** Revokes the agent's credential: its live link is closed (4003) and it cannot reconnect until re-registered. */
  r.delete('/agents/:agent/credential', requireRole('admin'), async (req, res) => {
    const p = principalOf(res);
    const agent = await findAgent(prisma, String(req.params.agent));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    await prisma.agent.update({ where: { id: agent.id }, data: { credentialHash: newSecret('agentCredential').hash } });
    hub.disconnect(agent.id, CloseCode.Unauthorized, 'agent credential revoked');
    log.info('agent credential revoked', { agent: agent.name, by: describePrincipal(p) });
    await audit.record({ actor: describePrincipal(p), action: 'agent.credential_revoke', target: agent.name, ip: clientIp(req) });
    res.status(204).end();
  });

  /**
   * Runs a command. Response: application/x-ndjson, one ExecEvent per line (started, output with
   * base64 data, then exit or error). If the client goes away the command is killed.
   */
  r.post('/agents/:agent/exec', requireRole('operator'), async (req, res) => {
    const body = parseBody(execRequestSchema, req.body);
    const agent = await findUsableAgent(prisma, String(req.params.agent), principalOf(res));
    if (!agent) throw new RexecError(ErrorCode.NotFound, 'no such agent');
    let finished = false;
    // Backpressure: when the client does not keep up, the agent stops reading the command's
    // output until the response has drained, instead of the relay buffering all of it.
    let handle: ExecHandle | undefined;
    const write = (ev: ExecEvent) => {
      if (res.writableEnded) return;
      const waiting = res.writableNeedDrain; // paused already, until the drain
      if (res.write(JSON.stringify(ev) + '\n') || waiting) return;
      handle?.flow(true);
      res.once('drain', () => handle?.flow(false));
    };
    await audit.record({ actor: describePrincipal(principalOf(res)), action: 'exec.start', target: agent.name, ip: clientIp(req), details: { command: body.command ?? body.argv } });
    handle = await execs.start(agent, body, principalOf(res), {
      started: ({ execId, pid }) => write({ type: 'started', execId, agentId: agent.id, pid }),
      output: (stream, data) => write({ type: 'output', stream, data: Buffer.from(data).toString('base64') }),
      finished: (result) => {
        finished = true;
        write({ type: 'exit', ...result });
        res.end();
      },
      failed: (code, message) => {
        finished = true;
        write({ type: 'error', code, message });
        res.end();
      },
    });
    res.status(200).setHeader('Content-Type', 'application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    res.on('close', () => {
      if (!finished) handle?.kill();
    });
  });

  return r;
}
