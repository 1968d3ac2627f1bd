/**
 * Remote commands: sends `exec` to the agent, relays its output and result to one listener,
 * records the run in exec_records. The relay keeps its own watchdog: if the agent never reports
 * (hung, partitioned), the exec ends as an error instead of hanging forever.
 */
import { ErrorCode, LIMITS, RexecError, type ExecRequest, type ExecResult } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AgentHub } from '../hub/agent-hub.js';
import type { ExecSink } from '../hub/sinks.js';
import { newId } from '../auth/secrets.js';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { log } from '../log.js';

export interface ExecListener {
  started(info: { execId: string; pid: number }): void;
  output(stream: 'stdout' | 'stderr', data: Uint8Array): void;
  finished(result: Omit<ExecResult, 'type'>): void;
  failed(code: string, message: string): void;
}

export interface ExecHandle {
  execId: string;
  kill(): void;
  /** Output backpressure: paused while the client is behind. */
  flow(paused: boolean): void;
}

/** Extra time past the command's own timeout before the relay gives up on the agent. */
const WATCHDOG_SLACK_MS = 15_000;
const KILL_GRACE_MS = 2000;

export class ExecService {
  constructor(private readonly prisma: PrismaClient, private readonly hub: AgentHub) {}

  /**
   * Starts an exec. The handle kills it, and pauses or resumes its output while the listener's
   * client is behind (the agent stops reading the command's pipes). Throws agent_offline if not
   * connected.
   */
  async start(agent: { id: string; name: string }, req: ExecRequest, principal: Principal, listener: ExecListener): Promise<ExecHandle> {
    const link = this.hub.get(agent.id);
    if (!link) throw new RexecError(ErrorCode.AgentOffline, `agent ${agent.name} is offline`);
    const execId = newId();
    const timeoutMs = Math.round((req.timeoutSec ?? LIMITS.defaultExecTimeoutMs / 1000) * 1000);
    const commandText = req.command ?? (req.argv ?? []).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
    await this.prisma.execRecord.create({ data: { id: execId, agentId: agent.id, requestedBy: describePrincipal(principal), command: commandText } });

    let done = false;
    const finish = (result: Omit<ExecResult, 'type'> | null, failure?: { code: string; message: string }) => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      link.execs.delete(execId);
      if (result) listener.finished(result);
      else listener.failed(failure!.code, failure!.message);
      this.prisma.execRecord
        .update({
          where: { id: execId },
          data: {
            finishedAt: new Date(),
            exitCode: result?.exitCode ?? null,
            signal: result?.signal ?? null,
            timedOut: result?.timedOut ?? false,
            durationMs: result?.durationMs ?? null,
            error: result?.error ?? failure?.message ?? null,
          },
        })
        .catch((err) => log.warn('could not record exec result', { err: err.message }));
    };
    const watchdog = setTimeout(
      () => finish(null, { code: ErrorCode.Internal, message: 'the agent did not report a result in time' }),
      timeoutMs + KILL_GRACE_MS + WATCHDOG_SLACK_MS,
    );

    const sink: ExecSink = {
      onStarted: (m) => listener.started({ execId, pid: m.pid }),
      onOutput: (stream, payload) => !done && listener.output(stream, payload),
      onResult: ({ type: _t, ...result }) => finish(result),
      onAgentGone: (reason) => finish(null, { code: ErrorCode.AgentOffline, message: `agent disconnected during the command (${reason})` }),
    };
    link.execs.set(execId, sink);
    link.send({
      type: 'exec',
      execId,
      ...(req.argv ? { argv: req.argv } : { command: req.command! }),
      ...(req.cwd ? { cwd: req.cwd } : {}),
      ...(req.env ? { env: req.env } : {}),
      timeoutMs,
      killGraceMs: KILL_GRACE_MS,
    });
    log.info('exec started', { agent: agent.name, exec: execId, by: describePrincipal(principal) });
    return {
      execId,
      kill: () => {
        if (!done) link.send({ type: 'exec_kill', execId });
      },
      flow: (paused) => {
        if (!done) link.send({ type: 'exec_flow', execId, paused });
      },
    };
  }
}
