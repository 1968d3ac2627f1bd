/**
 * A running agent (what `rexec-agent start` does in the foreground): loads the registration,
 * claims the pid file, keeps the state file, and wires the link to the session manager, the
 * exec runner and the run manager.
 *
 * Stopping (signal or stop()) lets go of the terminal sessions, whose session host processes keep
 * the shells running for the next agent process; execs and runs are ended.
 *
 * Exit codes of the returned `done` promise: 0 after SIGTERM/SIGINT/SIGHUP or stop(), 2 when the relay
 * rejected the agent for good (bad credential, agent deleted, unsupported version, replaced).
 */
import { homedir, hostname } from 'node:os';
import { LINK_DEFAULTS, type RelayHello } from '@rexec/shared';
import { loadRegistration } from './config.js';
import { caFileSetting, loadCa } from './tls.js';
import { CommandAllowlist } from './command-allowlist.js';
import { acquirePidFile, releasePidFile } from './daemon.js';
import { ExecRunner } from './exec/runner.js';
import { FlowGate } from './flow.js';
import { defaultShell, osDescription } from './host-info.js';
import { AgentLink, agentLinkUrl, type LinkFatalError, type RelayCommand } from './link.js';
import type { Logger } from './logger.js';
import { runtimePaths } from './paths.js';
import { RunManager } from './runs/run-manager.js';
import { allowedRootsSetting, maxRunsSetting } from './runs/settings.js';
import { SessionManager } from './sessions/manager.js';
import { spawnPty, type PtySpawner } from './sessions/pty.js';
import { StateWriter } from './state-file.js';
import { AGENT_VERSION } from './version.js';
import { MetricsReporter, metricsIntervalSetting } from './metrics.js';

export const DEFAULT_MAX_SESSIONS = 32;

export interface RunAgentOptions {
  configPath: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  maxSessions?: number;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
  /** For tests: a fake PTY for terminal sessions (runs always use the real one). */
  spawnPty?: PtySpawner;
  /** `start --metrics-interval` (seconds, 0 = off); wins over the environment and the config. */
  metricsInterval?: string;
}

export interface RunningAgent {
  /** Resolves with the process exit code once the agent has stopped. */
  done: Promise<number>;
  /** Stops the agent (same as SIGTERM). */
  stop(code?: number): Promise<number>;
  link: AgentLink;
}

export const EXIT_OK = 0;
export const EXIT_FATAL = 2;
const SHUTDOWN_CAP_MS = 8000;

/** Throws ConfigError when not registered and AlreadyRunningError when another agent runs. */
export function runAgent(opts: RunAgentOptions): RunningAgent {
  const log = opts.logger;
  const paths = runtimePaths(opts.configPath);
  const { registration: reg, overrides } = loadRegistration(opts.configPath, opts.env);
  for (const v of overrides.applied) log.info('setting from environment', { variable: v });
  for (const note of overrides.ignored) log.warn(note);
  const maxRuns = maxRunsSetting(reg, opts.env); // throws on a bad REXEC_AGENT_MAX_RUNS, before the pid file is claimed
  const metricsInterval = metricsIntervalSetting(reg, opts.env, opts.metricsInterval); // likewise
  acquirePidFile(paths);
  const state = new StateWriter(paths.state, process.pid);

  const shell = reg.shell || defaultShell(opts.env);
  const name = (reg.name || hostname()).slice(0, 64);
  let link!: AgentLink;
  const gate = new FlowGate({ bufferedAmount: () => link.bufferedAmount() });
  const sink = {
    sendJson: (m: Parameters<AgentLink['sendJson']>[0]) => link.sendJson(m),
    sendBinary: (f: Uint8Array) => link.sendBinary(f),
    bufferedAmount: () => link.bufferedAmount(),
  };
  const sessions = new SessionManager({
    sink,
    gate,
    shell,
    ...(reg.working_dir ? { workingDir: reg.working_dir } : {}),
    maxSessions: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
    logger: log,
    env: opts.env,
    // Real sessions live in session host processes that outlive this one; a test PTY, or
    // REXEC_AGENT_SESSION_HOSTS=0, keeps them in this process (they then end with it).
    ...(opts.spawnPty ? { spawn: opts.spawnPty } : opts.env.REXEC_AGENT_SESSION_HOSTS === '0' ? { spawn: spawnPty } : { stateDir: paths.sessions }),
    ...sessionTuning(opts.env),
  });
  const allowlist = new CommandAllowlist(reg.command_allowlist ?? []);
  if (allowlist.active) log.info('command allowlist active: execs and runs must match', { patterns: allowlist.sources.length });
  const execs = new ExecRunner({ sink, gate, shell, ...(reg.working_dir ? { workingDir: reg.working_dir } : {}), allowlist, logger: log, env: opts.env });
  const roots = allowedRootsSetting(reg, opts.env, homedir());
  // Constructing the run manager kills what runs an earlier agent process left behind.
  const runs = new RunManager({
    sink,
    gate,
    shell,
    ...(reg.working_dir ? { workingDir: reg.working_dir } : {}),
    allowedRoots: roots.roots,
    recordsDir: paths.runs,
    maxRuns,
    allowlist,
    logger: log,
    env: opts.env,
  });

  const metrics = new MetricsReporter({ intervalSec: metricsInterval, send: (m) => link.sendJson(m), logger: log });

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping: Promise<number> | undefined;

  const dispatch = (msg: RelayCommand) => {
    switch (msg.type) {
      case 'shell_start':
      case 'shell_input':
      case 'shell_resize':
      case 'shell_stop':
      case 'shell_attach':
      case 'shell_detach':
      case 'shell_ack':
      case 'shell_peek':
      case 'shell_nudge':
      case 'shell_snapshot':
        return sessions.handle(msg);
      case 'exec':
      case 'exec_kill':
      case 'exec_flow':
        return execs.handle(msg);
      case 'run_start':
      case 'run_kill':
      case 'run_attach':
      case 'run_ack':
      case 'run_forget':
        return runs.handle(msg);
    }
  };

  /** The link is gone: sessions and runs detach and wait for a relay to attach them; execs end with it. */
  const dropWork = () => {
    sessions.detachAll();
    runs.detachAll();
    return execs.killAll().then(() => gate.reset());
  };

  const ca = loadCa(caFileSetting(reg, opts.env));
  link = new AgentLink({
    ...(ca ? { ca } : {}),
    apiUrl: reg.api_url,
    agentId: reg.agent_id,
    // Re-read before every attempt so `refresh-token` applies on the next reconnect.
    credential: () => loadRegistration(opts.configPath, opts.env).registration.token,
    hello: () => ({ name, hostname: hostname().slice(0, 255), os: osDescription(), arch: process.arch, shell, version: AGENT_VERSION, sessions: sessions.list(), runs: runs.list() }),
    logger: log,
    reconnectBaseMs: opts.reconnectBaseMs ?? LINK_DEFAULTS.reconnectBaseMs,
    reconnectCapMs: opts.reconnectCapMs ?? LINK_DEFAULTS.reconnectCapMs,
    handlers: {
      onCommand: dispatch,
      onConnected: (hello: RelayHello) => {
        log.info('connected to relay', {
          relay: reg.api_url,
          agent: reg.agent_id,
          protocol: hello.protocolVersion,
          heartbeatMs: hello.heartbeatIntervalMs,
          deadLinkMs: hello.deadLinkTimeoutMs,
        });
        state.update({ connectedSince: new Date().toISOString(), lastError: null });
        metrics.start();
      },
      onRelayError: (msg) => metrics.onRelayError(msg),
      onDisconnected: ({ code, reason, wasConnected }) => {
        if (wasConnected) log.info('disconnected from relay', { code, reason: reason || undefined });
        state.update({ connectedSince: null });
        metrics.stop();
        if (sessions.size || execs.size || runs.size) {
          log.info('link lost: sessions and runs detached, execs stopped', { sessions: sessions.size, runs: runs.size, execs: execs.size });
        }
        void dropWork();
      },
      onReconnectScheduled: ({ lastError }) => state.update({ lastError }),
      onFatal: (err: LinkFatalError) => {
        state.update({ lastError: err.message, connectedSince: null });
        void stop(EXIT_FATAL);
      },
    },
  });

  const onSignal = (sig: NodeJS.Signals) => {
    log.info('signal received; stopping', { signal: sig });
    void stop(EXIT_OK);
  };
  if (opts.handleSignals !== false) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onSignal); // the terminal of a foreground agent went away
  }

  function stop(code = EXIT_OK): Promise<number> {
    stopping ??= (async () => {
      metrics.stop();
      await link.dispose(1000, 'agent stopping');
      const cap = new Promise<void>((r) => setTimeout(r, SHUTDOWN_CAP_MS).unref());
      // Shells live in their session hosts and keep running: let go of them (the next agent process
      // finds them again). Execs and runs do not outlive the agent process: end them. Runs the cap
      // cuts short keep their records, so the next agent start kills what is left.
      await Promise.race([Promise.all([sessions.release(), execs.killAll(), runs.stopAll()]), cap]);
      gate.dispose();
      if (opts.handleSignals !== false) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        process.off('SIGHUP', onSignal);
      }
      state.update({ connectedSince: null, stopped: true });
      releasePidFile(paths);
      log.info('agent stopped', { exitCode: code });
      resolveDone(code);
      return code;
    })();
    return stopping;
  }

  log.info('agent starting', {
    version: AGENT_VERSION,
    agent: reg.agent_id,
    name,
    relay: agentLinkUrl(reg.api_url, reg.agent_id),
    pid: process.pid,
    maxSessions: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
    allowedRoots: runs.roots.join(':') || '(none)',
    allowedRootsFrom: roots.source,
    metricsIntervalSec: metricsInterval,
  });
  // Hosts an earlier agent process left are found before the first hello, which lists them.
  void sessions
    .recover()
    .catch((err: Error) => log.warn('could not recover sessions', { err: err.message }))
    .then(() => {
      if (!stopping) link.start();
    });
  return { done, stop, link };
}

/**
 * Session buffering from the environment (documented in agent/README.md):
 * REXEC_AGENT_RING_BYTES, REXEC_AGENT_SESSION_IDLE_MS, REXEC_AGENT_DETACHED_PAUSE_MS.
 */
export function sessionTuning(env: NodeJS.ProcessEnv): { ringBytes?: number; idleTimeoutMs?: number; detachedPauseLimitMs?: number } {
  const read = (name: string, min: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}, got "${v}"`);
    return n;
  };
  const ringBytes = read('REXEC_AGENT_RING_BYTES', 64 * 1024);
  const idleTimeoutMs = read('REXEC_AGENT_SESSION_IDLE_MS', 1000);
  const detachedPauseLimitMs = read('REXEC_AGENT_DETACHED_PAUSE_MS', 0);
  return {
    ...(ringBytes !== undefined ? { ringBytes } : {}),
    ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
    ...(detachedPauseLimitMs !== undefined ? { detachedPauseLimitMs } : {}),
  };
}
