/**
 * The only module that touches node-pty. Everything else sees the small PtyProcess interface, so
 * tests can plug in an echo fake where a real terminal is not the point.
 *
 * node-pty is loaded lazily on the first spawn: commands that never open a terminal (register,
 * status, ...) keep working on a host where the native addon fails to load.
 */
import { readSync, writeSync } from 'node:fs';
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
  const listeners = new Set<(chunk: Buffer) => void>();
  const emit = (chunk: Buffer) => {
    for (const l of listeners) l(chunk);
  };
  p.onData((d: string | Buffer) => emit(typeof d === 'string' ? Buffer.from(d, 'utf8') : d));
  drainBeforeDestroy(p, emit);
  const write = directWriter(p);
  return {
    pid: p.pid,
    onData: (listener) => {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    onExit: (listener) =>
      p.onExit(({ exitCode, signal }) => {
        const sig = signalName(signal);
        listener({ exitCode: sig ? null : exitCode, signal: sig });
      }),
    write,
    resize: (cols, rows) => p.resize(cols, rows),
    kill: (signal) => p.kill(signal),
    pause: () => p.pause(),
    resume: () => p.resume(),
  };
};

/**
 * Writes input to the terminal at once, on this thread. node-pty's own write hands every write to
 * libuv's thread pool (fs.write, then a callback), so a keystroke woke a pool thread and then this
 * thread again: two extra wake-ups, each a cross-CPU hand-off, on the path of every echo
 * (docs/benchmarks.md). The master side is non-blocking, so a direct write never blocks: whatever
 * the kernel does not take (EAGAIN, a partial write: a large paste into a program that does not
 * read) goes to node-pty's queue, which retries in order. While that queue holds anything, new
 * input joins it, so the order of input is kept. Reaches into node-pty's private `_fd` and
 * `_writeStream._writeQueue`; without them (another node-pty version) every write is node-pty's.
 */
function directWriter(p: NodePty.IPty): (data: string) => void {
  const priv = p as unknown as { _fd?: number; _writeStream?: { _writeQueue?: unknown[] } };
  const fd = priv._fd;
  const queue = priv._writeStream?._writeQueue;
  if (typeof fd !== 'number' || !Array.isArray(queue)) return (data) => p.write(data);
  return (data) => {
    if (queue.length > 0) return p.write(data);
    const buf = Buffer.from(data, 'utf8');
    let written = 0;
    try {
      written = writeSync(fd, buf);
    } catch {
      // EAGAIN: the terminal's input buffer is full, node-pty's queue waits for room. Anything
      // else (EIO: the program is gone) goes the same way and node-pty handles it as before.
    }
    if (written < buf.length) p.write(buf.subarray(written));
  };
}

/**
 * node-pty destroys the terminal 200 ms after the process exited if it has not read end-of-file
 * by then (a paused reader, a busy event loop), and output still buffered, in the stream or in
 * the kernel, was lost. Before that destroy, read everything that is left: the stream's buffer
 * (re-emitted as data events) and then the master side of the terminal, which is non-blocking
 * and ends with EAGAIN or EIO. Reaches into node-pty's private `_socket` and `_fd`; without them
 * (another node-pty version) it does nothing.
 */
function drainBeforeDestroy(p: NodePty.IPty, emit: (chunk: Buffer) => void): void {
  const priv = p as unknown as { _socket?: { destroy: (...a: unknown[]) => unknown; read: () => unknown }; _fd?: number };
  const socket = priv._socket;
  const fd = priv._fd;
  if (!socket || typeof fd !== 'number' || typeof socket.destroy !== 'function') return;
  const destroy = socket.destroy.bind(socket);
  let drained = false;
  socket.destroy = (...a: unknown[]) => {
    if (!drained) {
      drained = true;
      try {
        while (socket.read() !== null) {
          /* each read() emits a data event */
        }
        const buf = Buffer.allocUnsafe(64 * 1024);
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n <= 0) break;
          emit(Buffer.from(buf.subarray(0, n)));
        }
      } catch {
        /* EAGAIN (nothing left) or EIO (the other side is closed) */
      }
    }
    return destroy(...a);
  };
}
