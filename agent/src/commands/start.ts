/** `rexec-agent start [--daemon]`. */
import { resolve } from 'node:path';
import { runAgent, DEFAULT_MAX_SESSIONS } from '../agent.js';
import { loadRegistration } from '../config.js';
import { runningPid, spawnDaemon } from '../daemon.js';
import { LIMITS } from '@rexec/shared';
import { createLogger, parseLogLevel, type LogLevel } from '../logger.js';
import { runtimePaths } from '../paths.js';
import { metricsIntervalSetting } from '../metrics.js';
import { CliError, configPathFor, type CliContext, type GlobalOptions } from './context.js';

export interface StartOptions {
  daemon?: boolean;
  maxSessions?: string;
  logLevel?: string;
  wait?: string;
  metricsInterval?: string;
}

export function positiveInt(value: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim())) throw new CliError(`${what} must be a positive whole number, got "${value}"`);
  const n = Number.parseInt(value, 10);
  if (n < 1 || n > max) throw new CliError(`${what} must be between 1 and ${max}, got ${n}`);
  return n;
}

/** REXEC_AGENT_RECONNECT_BASE_MS / REXEC_AGENT_RECONNECT_CAP_MS. */
export function backoffFromEnv(env: NodeJS.ProcessEnv): { reconnectBaseMs?: number; reconnectCapMs?: number } {
  const out: { reconnectBaseMs?: number; reconnectCapMs?: number } = {};
  if (env.REXEC_AGENT_RECONNECT_BASE_MS) out.reconnectBaseMs = positiveInt(env.REXEC_AGENT_RECONNECT_BASE_MS, 'REXEC_AGENT_RECONNECT_BASE_MS');
  if (env.REXEC_AGENT_RECONNECT_CAP_MS) out.reconnectCapMs = positiveInt(env.REXEC_AGENT_RECONNECT_CAP_MS, 'REXEC_AGENT_RECONNECT_CAP_MS');
  return out;
}

export async function startCommand(opts: StartOptions, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const configPath = configPathFor(globals, ctx);
  const paths = runtimePaths(configPath);
  const maxSessions = positiveInt(opts.maxSessions ?? String(DEFAULT_MAX_SESSIONS), '--max-sessions', LIMITS.maxSessionsPerAgent);
  let level: LogLevel;
  try {
    level = parseLogLevel(opts.logLevel ?? 'info');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const backoff = backoffFromEnv(ctx.env);

  if (!opts.daemon) {
    const agent = runAgent({ configPath, env: ctx.env, logger: createLogger(level, ctx.stdout), maxSessions, ...backoff, ...(opts.metricsInterval !== undefined ? { metricsInterval: opts.metricsInterval } : {}) });
    return agent.done;
  }

  // --daemon: check what we can here, where the person can see the message.
  const { registration } = loadRegistration(configPath, ctx.env);
  try {
    metricsIntervalSetting(registration, ctx.env, opts.metricsInterval);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const pid = runningPid(paths);
  if (pid !== null) throw new CliError(`the agent is already running (pid ${pid})`);
  const waitMs = positiveInt(opts.wait ?? '5', '--wait', 600) * 1000;
  const result = await spawnDaemon({
    paths,
    command: ctx.self.command,
    commandArgs: ctx.self.args,
    args: ['--config', resolve(configPath), 'start', '--max-sessions', String(maxSessions), '--log-level', level, ...(opts.metricsInterval !== undefined ? ['--metrics-interval', opts.metricsInterval] : [])],
    env: ctx.env,
    waitMs,
  });
  ctx.stdout(`agent started in the background (pid ${result.pid}); log: ${paths.log}\n`);
  switch (result.outcome) {
    case 'connected':
      ctx.stdout(`connected to the relay at ${result.state.connectedSince}\n`);
      return 0;
    case 'exited':
      throw new CliError(
        `the agent exited (code ${result.exitCode ?? '?'}): ${result.state?.lastError ?? `see ${paths.log}`}`,
        result.exitCode && result.exitCode > 0 ? result.exitCode : 1,
      );
    case 'waiting':
      ctx.stdout(
        `not connected yet after ${waitMs / 1000} s${result.state?.lastError ? ` (last error: ${result.state.lastError})` : ''}; ` +
          `it keeps retrying; see "rexec-agent status" and ${paths.log}\n`,
      );
      return 0;
  }
}
