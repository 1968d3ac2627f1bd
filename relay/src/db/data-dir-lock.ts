/**
 * PGlite admits one process per data directory. The relay holds `relay.lock` (its pid) while it
 * runs; admin commands that find a live holder talk to it over the control socket instead of
 * opening the database themselves. The embedded database's process holds `db.lock` the same way,
 * so a relay restarted at once waits for the previous one's database to close its files.
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirBusyError extends Error {
  constructor(readonly pid: number, dir: string) {
    super(`another process (pid ${pid}) is using the data directory ${dir}`);
    this.name = 'DataDirBusyError';
  }
}

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockName = 'relay.lock' | 'db.lock';

export function lockHolder(dataDir: string, name: LockName = 'relay.lock'): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the lock or throws DataDirBusyError (also when this very process holds it). Returns a release function. */
export function acquireDataDirLock(dataDir: string, name: LockName = 'relay.lock'): () => void {
  const file = path.join(dataDir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dataDir, name);
      if (holder !== null) throw new DataDirBusyError(holder, dataDir);
      fs.rmSync(file, { force: true }); // stale lock of a dead process
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
