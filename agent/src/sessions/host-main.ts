/**
 * Entry of a session host process (see host.ts). The agent starts it with process.execPath,
 * detached (own session and process group, so it survives the agent's exit, `systemctl stop`
 * with KillMode=process and process-group kills), stdin a pipe carrying the HostSpec JSON,
 * stdout a pipe for the one readiness line, stderr the hosts' log file.
 *
 * Readiness line: `{"ok":true,"hostPid":N,"pid":N}` once the socket listens and the state file is
 * written, or `{"ok":false,"error":"..."}` when the shell cannot start.
 *
 * Signals: SIGTERM ends the session (SIGHUP to the shell, SIGKILL after the grace) and then the
 * host; SIGHUP and SIGINT are ignored (the host has no terminal). When the session ends the host
 * removes its state file and socket and exits.
 */
import { createLogger } from '../logger.js';
import { SessionHost } from './host.js';
import { hostSpecSchema, type HostSpec } from './host-protocol.js';
import { preloadPty, spawnPty } from './pty.js';
import { preloadMirror } from './screen-mirror.js';
import { ensureOwnPrivateDir, removeHostFiles, writeHostState } from './state-dir.js';
import { dirname } from 'node:path';

const log = createLogger('info', (line) => process.stderr.write(line));

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      text += d;
      if (text.length > 4 * 1024 * 1024) reject(new Error('spec too large'));
    });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function ready(line: Record<string, unknown>): void {
  try {
    process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stdout.end();
  } catch {
    /* the agent is gone; carry on */
  }
}

async function main(): Promise<void> {
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  process.on('SIGPIPE', () => {});
  process.stdout.on('error', () => {});
  // Load what a session needs before the spec arrives: a spare host is started ahead of use.
  preloadPty();
  preloadMirror();
  const text = await readStdin();
  if (text === '') process.exit(0); // a spare that was never used
  let spec: HostSpec;
  try {
    spec = hostSpecSchema.parse(JSON.parse(text));
  } catch (err) {
    ready({ ok: false, error: `bad host spec: ${(err as Error).message}` });
    process.exitCode = 1;
    return;
  }
  const { sessionId, stateDir, socketPath } = spec;
  let pty;
  try {
    pty = spawnPty(spec.shell, spec.args, { cols: spec.cols, rows: spec.rows, cwd: spec.cwd, env: spec.env });
  } catch (err) {
    ready({ ok: false, error: `cannot start ${spec.shell}: ${(err as Error).message}` });
    process.exitCode = 1;
    return;
  }
  const writeState = (cols: number, rows: number) => {
    try {
      writeHostState(stateDir, { version: 1, sessionId, hostPid: process.pid, pid: pty.pid, cols, rows, startedAt: host.startedAt, socket: socketPath });
    } catch (err) {
      log.warn('cannot write the session state file', { session: sessionId, err: (err as Error).message });
    }
  };
  const host: SessionHost = new SessionHost(pty, {
    sessionId,
    socketPath,
    logger: log,
    cols: spec.cols,
    rows: spec.rows,
    ringBytes: spec.ringBytes,
    windowBytes: spec.windowBytes,
    idleTimeoutMs: spec.idleTimeoutMs,
    detachedPauseLimitMs: spec.detachedPauseLimitMs,
    stopGraceMs: spec.stopGraceMs,
    flushMs: spec.flushMs,
    flushBytes: spec.flushBytes,
    onResize: writeState,
  });
  try {
    if (dirname(socketPath) !== stateDir) ensureOwnPrivateDir(dirname(socketPath));
    await host.listen();
    writeState(spec.cols, spec.rows);
  } catch (err) {
    try {
      pty.kill('SIGKILL');
    } catch {
      /* gone */
    }
    ready({ ok: false, error: `cannot listen on ${socketPath}: ${(err as Error).message}` });
    removeHostFiles(stateDir, { sessionId, socket: socketPath });
    process.exit(1);
  }
  process.on('SIGTERM', () => {
    log.info('SIGTERM: ending the session', { session: sessionId });
    host.session.stop();
  });
  process.on('uncaughtException', (err) => log.error('uncaught exception in the session host', { session: sessionId, err: err.stack ?? err.message }));
  log.info('session host started', { session: sessionId, hostPid: process.pid, pid: pty.pid, socket: socketPath });
  ready({ ok: true, hostPid: process.pid, pid: pty.pid });
  const exit = await host.ended;
  log.info('session ended; host exiting', { session: sessionId, exitCode: exit.exitCode, signal: exit.signal, bytes: host.session.outputBytes });
  await host.close();
  removeHostFiles(stateDir, { sessionId, socket: socketPath });
  process.exit(0);
}

void main();
