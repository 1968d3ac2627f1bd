/**
 * Process management around a running agent: the pid file, `start --daemon` (re-spawn detached
 * with output to the log file), and `stop`.
 *
 * The pid file is written by the agent process itself (foreground or daemon), created
 * exclusively, so two agents never run on the same config. A pid file whose process is gone, or
 * whose process is not a `rexec-agent start` (pid reused after a crash), is stale and ignored.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir } from './fs-atomic.js';
import { processAlive } from './exec/process-group.js';
import type { RuntimePaths } from './paths.js';
import { readState, type AgentState } from './state-file.js';

export class AlreadyRunningError extends Error {
  constructor(readonly pid: number, pidPath: string) {
    super(`the agent is already running (pid ${pid}, pid file ${pidPath}); run "rexec-agent stop" first`);
    this.name = 'AlreadyRunningError';
  }
}

export function readPidFile(pidPath: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidPath, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** On Linux, checks that `pid` runs `... start ...` (our own argv); elsewhere trusts the pid. */
function looksLikeAgent(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return cmdline.split('\0').includes('start');
}

/** The pid of the running agent for these paths, or null. */
export function runningPid(paths: RuntimePaths): number | null {
  const pid = readPidFile(paths.pid);
  if (pid === null) return null;
  if (pid === process.pid) return pid;
  return processAlive(pid) && looksLikeAgent(pid) ? pid : null;
}

/** Claims the pid file for `pid`; throws AlreadyRunningError when another agent holds it. */
export function acquirePidFile(paths: RuntimePaths, pid = process.pid): void {
  ensurePrivateDir(dirname(paths.pid));
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(paths.pid, 'wx', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = runningPid(paths);
      if (other !== null && other !== pid) throw new AlreadyRunningError(other, paths.pid);
      rmSync(paths.pid, { force: true }); // stale
    }
  }
  throw new Error(`cannot create pid file ${paths.pid}`);
}

/** Removes the pid file if it still names `pid`. */
export function releasePidFile(paths: RuntimePaths, pid = process.pid): void {
  if (readPidFile(paths.pid) === pid) rmSync(paths.pid, { force: true });
}

export interface SpawnDaemonOptions {
  paths: RuntimePaths;
  /** How to run this CLI again: the program and its leading arguments (node, [execArgv..., script]). */
  command: string;
  commandArgs: string[];
  /** Arguments after those, e.g. ['--config', path, 'start', '--max-sessions', '8']. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** How long to wait for connected-or-failed. */
  waitMs: number;
  pollMs?: number;
}

export type DaemonOutcome =
  | { outcome: 'connected'; pid: number; state: AgentState }
  | { outcome: 'exited'; pid: number; exitCode: number | null; state: AgentState | null }
  | { outcome: 'waiting'; pid: number; state: AgentState | null };

/**
 * Starts the agent detached (own session, stdin closed, stdout and stderr appended to the log
 * file) and waits up to waitMs until it has connected or has exited.
 */
export async function spawnDaemon(opts: SpawnDaemonOptions): Promise<DaemonOutcome> {
  ensurePrivateDir(dirname(opts.paths.log));
  const logFd = openSync(opts.paths.log, 'a', 0o600);
  let child;
  try {
    child = spawn(opts.command, [...opts.commandArgs, ...opts.args], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: opts.env,
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`cannot start the agent: ${err.message}`);
  }
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : null)));
  child.unref();

  const deadline = Date.now() + opts.waitMs;
  const pollMs = opts.pollMs ?? 100;
  for (;;) {
    const state = readState(opts.paths.state);
    const mine = state && state.pid === pid ? state : null;
    if (mine?.connectedSince) return { outcome: 'connected', pid, state: mine };
    if (exitCode !== undefined) return { outcome: 'exited', pid, exitCode, state: mine };
    if (Date.now() >= deadline) return { outcome: 'waiting', pid, state: mine };
    await sleep(pollMs);
  }
}

export type StopResult = { wasRunning: false } | { wasRunning: true; pid: number; stopped: boolean };

/** SIGTERM to the running agent, then waits up to timeoutMs for it to exit; removes the pid file. */
export async function stopAgent(paths: RuntimePaths, timeoutMs: number): Promise<StopResult> {
  const pid = runningPid(paths);
  if (pid === null) {
    rmSync(paths.pid, { force: true }); // stale or absent
    return { wasRunning: false };
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      rmSync(paths.pid, { force: true });
      return { wasRunning: false };
    }
    throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return { wasRunning: true, pid, stopped: false };
    await sleep(50);
  }
  releasePidFile(paths, pid);
  return { wasRunning: true, pid, stopped: true };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
