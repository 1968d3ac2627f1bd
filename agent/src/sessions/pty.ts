/**
 * The only module that touches node-pty. Everything else sees the small PtyProcess interface, so
 * tests can plug in an echo fake where a real terminal is not the point.
 *
 * node-pty is loaded lazily on the first spawn: commands that never open a terminal (register,
 * status, ...) keep working on a host where the native addon fails to load.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type * as NodePty from 'node-pty';

export interface PtyDisposable {
  dispose(): void;
}

export interface PtyExit {
  exitCode: number | null;
  /** Signal name such as "SIGHUP", or null when the process exited by itself. */
  signal: string | null;
}

export interface PtyProcess {
  readonly pid: number;
  /** Raw output bytes, never decoded (a multibyte character may span two chunks). */
  onData(listener: (chunk: Buffer) => void): PtyDisposable;
  onExit(listener: (exit: PtyExit) => void): PtyDisposable;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  kill(signal?: NodeJS.Signals): void;
  pause(): void;
  resume(): void;
}

export interface PtySpawnOptions {
  cols: number;
  rows: number;
  cwd: string;
  env: Record<string, string>;
}

export type PtySpawner = (file: string, args: string[], options: PtySpawnOptions) => PtyProcess;

let loaded: typeof NodePty | undefined;
function nodePty(): typeof NodePty {
  loaded ??= createRequire(import.meta.url)('node-pty') as typeof NodePty;
  return loaded;
}

/** Loads node-pty now (a spare session host does, before it is needed). */
export function preloadPty(): void {
  nodePty();
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, num]) => [num, name]));

export function signalName(signal: number | undefined | null): string | null {
  if (!signal) return null;
  return SIGNAL_NAMES.get(signal) ?? `SIG${signal}`;
}

/** Spawns a real PTY. Throws when the program cannot be started. */
export const spawnPty: PtySpawner = (file, args, options) => {
  const p = nodePty().spawn(file, args, {
    name: options.env.TERM ?? 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
    cwd: options.cwd,
    env: options.env,
    // null: deliver Buffers, not utf8-decoded strings (the typings still say string).
    encoding: null,
  });
  return {
    pid: p.pid,
    onData: (listener) =>
      p.onData((d: string | Buffer) => listener(typeof d === 'string' ? Buffer.from(d, 'utf8') : d)),
    onExit: (listener) =>
      p.onExit(({ exitCode, signal }) => {
        const sig = signalName(signal);
        listener({ exitCode: sig ? null : exitCode, signal: sig });
      }),
    write: (data) => p.write(data),
    resize: (cols, rows) => p.resize(cols, rows),
    kill: (signal) => p.kill(signal),
    pause: () => p.pause(),
    resume: () => p.resume(),
  };
};
