/**
 * Where session hosts keep their files: the state dir `<config dir>/<config base>.sessions/`
 * (mode 0700) holds `<id>.json` (host pid, shell pid, size, start time, socket path) and, when
 * the path fits, the socket `<id>.sock`; `hosts.log` collects the hosts' log lines.
 *
 * A unix socket path must fit sun_path (108 bytes with the terminating NUL). When the state dir is
 * too deep, sockets go to a short private dir instead: `$XDG_RUNTIME_DIR/rexec-<hash>/` or
 * `/tmp/rexec-<uid>-<hash>/` (hash of the state dir, so two agents never share one). The state
 * file always names the socket it belongs to.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { colsSchema, idSchema, rowsSchema } from '@rexec/shared';
import { writeFileAtomic } from '../fs-atomic.js';

/** sun_path is 108 bytes including the NUL. */
export const MAX_SOCKET_PATH = 107;

export const hostStateSchema = z.object({
  version: z.literal(1),
  sessionId: idSchema,
  hostPid: z.number().int().positive(),
  pid: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
  startedAt: z.string().max(64),
  socket: z.string().min(1).max(MAX_SOCKET_PATH),
});
export type HostState = z.infer<typeof hostStateSchema>;

export function statePath(stateDir: string, sessionId: string): string {
  return join(stateDir, `${sessionId}.json`);
}

/** Creates `dir` with mode 0700, or checks that an existing one is ours and private. */
export function ensureOwnPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${dir} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); make it 0700`);
}

/** The socket path for a session: in the state dir when it fits, else in a short private dir. */
export function socketPathFor(stateDir: string, sessionId: string, env: NodeJS.ProcessEnv = process.env): string {
  const preferred = join(stateDir, `${sessionId}.sock`);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const hash = createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const runtime = env.XDG_RUNTIME_DIR && Buffer.byteLength(env.XDG_RUNTIME_DIR) < 40 ? join(env.XDG_RUNTIME_DIR, `rexec-${hash}`) : join(tmpdir().length < 40 ? tmpdir() : '/tmp', `rexec-${uid}-${hash}`);
  const short = join(runtime, `${sessionId}.sock`);
  if (Buffer.byteLength(short) <= MAX_SOCKET_PATH) return short;
  return join(runtime, `${createHash('sha256').update(sessionId).digest('hex').slice(0, 16)}.sock`);
}

export function writeHostState(stateDir: string, state: HostState): void {
  writeFileAtomic(statePath(stateDir, state.sessionId), `${JSON.stringify(state)}\n`);
}

/** The state files in the dir: valid ones, and the paths of unreadable ones. */
export function readHostStates(stateDir: string): { states: HostState[]; invalid: string[] } {
  const states: HostState[] = [];
  const invalid: string[] = [];
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return { states, invalid };
  }
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const path = join(stateDir, name);
    try {
      const r = hostStateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      if (r.success && `${r.data.sessionId}.json` === name) states.push(r.data);
      else invalid.push(path);
    } catch {
      invalid.push(path);
    }
  }
  return { states, invalid };
}

/** Removes a host's state file and socket (either may already be gone). */
export function removeHostFiles(stateDir: string, state: Pick<HostState, 'sessionId' | 'socket'>): void {
  rmSync(statePath(stateDir, state.sessionId), { force: true });
  rmSync(state.socket, { force: true });
}

/** Whether `pid` is a live session host (on Linux checked by its command line). */
export function hostAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return cmd.includes('host-main') && st !== 'Z' && st !== 'X';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Ends every session of a state dir (`rexec-agent unregister`): SIGTERM to each live host (it
 * stops its shell and removes its files), SIGKILL after `graceMs`, then removes the dir.
 * Returns how many sessions were ended.
 */
export async function endSessionHosts(stateDir: string, graceMs = 5000): Promise<number> {
  const { states } = readHostStates(stateDir);
  const live = states.filter((s) => hostAlive(s.hostPid));
  for (const s of live) {
    try {
      process.kill(s.hostPid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (live.some((s) => hostAlive(s.hostPid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const s of live.filter((x) => hostAlive(x.hostPid))) {
    for (const pid of [s.pid, s.hostPid]) {
      try {
        if (pid > 1) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const s of states) removeHostFiles(stateDir, s);
  rmSync(stateDir, { recursive: true, force: true });
  return live.length;
}
