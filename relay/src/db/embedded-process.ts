/**
 * Starts and stops the embedded database's process (./embedded-server.ts) for the relay: PGlite
 * in a child process, reached over a unix socket with `pg`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddedServerArgs, EmbeddedServerMessage } from './embedded-server.js';

/** The port only names the socket file (`.s.PGSQL.<port>`, as libpq and `pg` expect). */
export const EMBEDDED_SOCKET_PORT = 5432;
/** Longest unix socket path Linux takes (sun_path is 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;
/** A first start runs initdb: allow a slow machine that long. */
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

export interface EmbeddedProcess {
  /** Directory holding the socket: `pg`'s `host`. */
  socketDir: string;
  pid: number;
  /** Closes the database (PGlite flushes and exits) and waits for the process to end. */
  stop(): Promise<void>;
}

export interface EmbeddedProcessOptions {
  dataDir: string;
  sharedBuffers: string;
  /** Called if the process ends while the relay still needs it. */
  onLost?: (reason: string) => void;
}

/** The entry next to this module: the built .js, or the .ts source through tsx (tests), as the agent runs its session hosts. */
function entry(): { file: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return { file: path.join(path.dirname(self), 'embedded-main.ts'), execArgv: ['--import', import.meta.resolve('tsx')] };
  return { file: path.join(path.dirname(self), 'embedded-main.js'), execArgv: [] };
}

function socketDirFor(dataDir: string): { dir: string; temporary: boolean } {
  const inData = path.join(path.resolve(dataDir), 'db-socket');
  if (`${inData}/.s.PGSQL.${EMBEDDED_SOCKET_PORT}`.length <= MAX_SOCKET_PATH) {
    fs.mkdirSync(inData, { recursive: true, mode: 0o700 });
    fs.chmodSync(inData, 0o700);
    return { dir: inData, temporary: false };
  }
  return { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'rexec-db-')), temporary: true };
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function spawnServer(args: EmbeddedServerArgs): ChildProcess {
  const { file, execArgv } = entry();
  return fork(file, [JSON.stringify(args)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Waits for the process's first word: ready (serving) or created (exits; start another). */
async function whenStarted(child: ChildProcess): Promise<'ready' | 'created'> {
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the embedded database did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      child.once('message', (m: EmbeddedServerMessage) => {
        clearTimeout(timer);
        if (m.type === 'error') reject(new Error(`the embedded database could not start: ${m.message}`));
        else resolve(m.type);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the embedded database's process exited while starting (${signal ?? `code ${code}`})`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await waitExit(child, STOP_TIMEOUT_MS);
    throw err;
  }
}

export async function startEmbeddedProcess(opts: EmbeddedProcessOptions): Promise<EmbeddedProcess> {
  const socket = socketDirFor(opts.dataDir);
  const args: EmbeddedServerArgs = {
    dataDir: path.resolve(opts.dataDir),
    sharedBuffers: opts.sharedBuffers,
    socketPath: path.join(socket.dir, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`),
  };
  const cleanup = () => {
    if (socket.temporary) fs.rmSync(socket.dir, { recursive: true, force: true });
  };
  let child: ChildProcess;
  try {
    // A first start creates the database and exits (./embedded-server.ts says why); the second serves.
    for (let attempt = 0; ; attempt++) {
      child = spawnServer(args);
      const started = await whenStarted(child);
      if (started === 'ready') break;
      await waitExit(child, STOP_TIMEOUT_MS);
      if (attempt > 0) throw new Error('the embedded database was created twice');
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  let stopping = false;
  child.once('exit', (code, signal) => {
    cleanup();
    if (!stopping) opts.onLost?.(`the embedded database's process (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  return {
    socketDir: socket.dir,
    pid: child.pid!,
    stop: async () => {
      stopping = true;
      if (child.connected) child.disconnect(); // it closes PGlite and exits
      if (!(await waitExit(child, STOP_TIMEOUT_MS))) {
        child.kill('SIGKILL');
        await waitExit(child, STOP_TIMEOUT_MS);
      }
    },
  };
}
