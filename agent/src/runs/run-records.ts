/**
 * One small file per running run (`<runs dir>/<runId>.json`, 0600, written atomically), so that
 * an agent starting after a crash (or a SIGKILL) finds the process groups its predecessor left
 * behind and kills them. A record is removed once its run has ended (and its group is gone), and
 * an orphan's record once the relay has forgotten the run.
 *
 * The runs dir sits next to the state file and takes the config's base name (see paths.ts):
 * `/etc/rexec/agent.yaml` -> `/etc/rexec/agent.runs/`.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';

export interface RunRecord {
  runId: string;
  /** The leader's pid, which is also the process group id. */
  pid: number;
  /** The leader's start time (/proc clock ticks after boot); tells a reused pid apart. Null without /proc. */
  startTime: number | null;
  /** The agent process that started the run, and its start time (null without /proc). */
  agentPid: number;
  agentStartTime: number | null;
  /** ISO time the run started. */
  startedAt: string;
  /** Grace between SIGTERM and SIGKILL the run asked for. */
  killGraceMs: number;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function recordPath(dir: string, runId: string): string {
  if (!ID_RE.test(runId)) throw new Error(`bad run id ${JSON.stringify(runId)}`);
  return join(dir, `${runId}.json`);
}

export function writeRunRecord(dir: string, rec: RunRecord): void {
  writeFileAtomic(recordPath(dir, rec.runId), JSON.stringify(rec) + '\n', 0o600);
}

export function removeRunRecord(dir: string, runId: string): void {
  rmSync(recordPath(dir, runId), { force: true });
}

function parseRecord(text: string, runId: string): RunRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);
  const pid = int(r.pid);
  const agentPid = int(r.agentPid);
  if (r.runId !== runId || pid === null || pid <= 1 || agentPid === null) return null;
  return {
    runId,
    pid,
    startTime: int(r.startTime),
    agentPid,
    agentStartTime: int(r.agentStartTime),
    startedAt: typeof r.startedAt === 'string' ? r.startedAt : '',
    killGraceMs: Math.min(int(r.killGraceMs) ?? 5000, 60_000),
  };
}

/**
 * Every record in `dir`. Files that cannot be parsed are listed in `bad` (as paths) for the caller
 * to report and remove; leftover temp files of interrupted writes are removed here.
 */
export function readRunRecords(dir: string): { records: RunRecord[]; bad: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { records: [], bad: [] };
  }
  const records: RunRecord[] = [];
  const bad: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      rmSync(path, { force: true });
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const runId = name.slice(0, -'.json'.length);
    let rec: RunRecord | null = null;
    try {
      rec = ID_RE.test(runId) ? parseRecord(readFileSync(path, 'utf8'), runId) : null;
    } catch {
      rec = null;
    }
    if (rec) records.push(rec);
    else bad.push(path);
  }
  return { records, bad };
}
