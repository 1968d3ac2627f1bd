/**
 * Where runs may work: the agent's allowed roots.
 *
 * Every path a run names (its working directory, its prompt file) is resolved with realpath, so
 * `..`, symlinks and bind tricks are judged by where they really lead, and must then lie inside
 * one of the allowed roots (themselves realpath'd). "Inside" is a path-component prefix check:
 * /home/ab is not inside /home/a.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { LIMITS } from '@rexec/shared';

export type Resolved<T> = { ok: true; value: T } | { ok: false; error: string };

/** True when `path` is `root` or below it (both absolute and normalised, e.g. realpath'd). */
export function isWithin(path: string, root: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/** `~` and `~/x` become the home directory; everything else is returned as it is. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/**
 * The allowed roots as real directories. Relative, nonexistent and non-directory entries are
 * dropped with a warning each (returned, for the caller to log). Duplicates collapse.
 */
export function resolveAllowedRoots(list: readonly string[], home: string): { roots: string[]; warnings: string[] } {
  const roots: string[] = [];
  const warnings: string[] = [];
  for (const raw of list) {
    const entry = expandHome(raw.trim(), home);
    if (!entry) continue;
    if (!isAbsolute(entry)) {
      warnings.push(`allowed root "${raw}" is not an absolute path; ignored`);
      continue;
    }
    let real: string;
    try {
      real = realpathSync(entry);
    } catch {
      warnings.push(`allowed root ${entry} does not exist; ignored`);
      continue;
    }
    if (!isDirectory(real)) {
      warnings.push(`allowed root ${entry} is not a directory; ignored`);
      continue;
    }
    if (!roots.includes(real)) roots.push(real);
  }
  return { roots, warnings };
}

/** `(/a, /b)` for messages; long lists are shortened. */
export function describeRoots(roots: readonly string[]): string {
  if (roots.length === 0) return 'none configured';
  const shown = roots.slice(0, 8).join(', ');
  return roots.length > 8 ? `${shown}, ... ${roots.length - 8} more` : shown;
}

function outside(what: string, path: string, roots: readonly string[]): string {
  return `${what} ${path} is outside the allowed roots (${describeRoots(roots)})`;
}

/**
 * The run's working directory: `requested` (absolute, or relative to `defaultDir`), or
 * `defaultDir` itself; realpath'd, an existing directory inside an allowed root.
 */
export function resolveWorkingDir(requested: string | undefined, defaultDir: string, roots: readonly string[]): Resolved<string> {
  const asked = requested ? (isAbsolute(requested) ? requested : `${defaultDir}${sep}${requested}`) : defaultDir;
  let real: string;
  try {
    // realpath follows `..` physically (after symlinks), like the kernel does for chdir.
    real = realpathSync(asked);
  } catch (err) {
    // Say "outside" for what lies outside even when it does not exist: no probing beyond the roots.
    if (!lexicallyWithin(asked, roots)) return { ok: false, error: outside('working directory', asked, roots) };
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, error: code === 'ENOENT' || code === 'ENOTDIR' ? `working directory ${asked} does not exist` : `working directory ${asked}: ${(err as Error).message}` };
  }
  if (!roots.some((r) => isWithin(real, r))) return { ok: false, error: outside('working directory', real === asked ? asked : `${asked} (${real})`, roots) };
  if (!isDirectory(real)) return { ok: false, error: `working directory ${asked} is not a directory` };
  return { ok: true, value: real };
}

/**
 * Reads a file-reference prompt: `file` relative to the working directory `cwd`, realpath'd,
 * inside an allowed root, a regular file of at most LIMITS.maxPromptBytes, as UTF-8.
 */
export function readPromptFile(file: string, cwd: string, roots: readonly string[], maxBytes: number = LIMITS.maxPromptBytes): Resolved<string> {
  const asked = isAbsolute(file) ? file : `${cwd}${sep}${file}`;
  let real: string;
  try {
    real = realpathSync(asked);
  } catch (err) {
    if (!lexicallyWithin(asked, roots)) return { ok: false, error: outside('prompt file', asked, roots) };
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, error: code === 'ENOENT' || code === 'ENOTDIR' ? `prompt file ${file} does not exist` : `prompt file ${file}: ${(err as Error).message}` };
  }
  if (!roots.some((r) => isWithin(real, r))) return { ok: false, error: outside('prompt file', real === asked ? asked : `${asked} (${real})`, roots) };
  let fd: number;
  try {
    // O_NOFOLLOW: the real path must not have become a symlink since; O_NONBLOCK: a FIFO swapped
    // in meanwhile cannot hang the agent (it is refused just below).
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { ok: false, error: `cannot read prompt file ${file}: ${(err as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, error: `prompt file ${file} is not a regular file` };
    if (st.size > maxBytes) return { ok: false, error: `prompt file ${file} is too large (${st.size} bytes; at most ${maxBytes})` };
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) return { ok: false, error: `prompt file ${file} is too large (more than ${maxBytes} bytes)` };
    }
    const bytes = buf.subarray(0, n);
    if (bytes.includes(0)) return { ok: false, error: `prompt file ${file} contains a NUL byte (it cannot be passed in an environment variable)` };
    return { ok: true, value: bytes.toString('utf8') };
  } catch (err) {
    return { ok: false, error: `cannot read prompt file ${file}: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

function lexicallyWithin(path: string, roots: readonly string[]): boolean {
  const normal = resolve(path);
  return roots.some((r) => isWithin(normal, r));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
