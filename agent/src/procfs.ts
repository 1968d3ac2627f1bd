/**
 * Reading Linux /proc: per-process stat (group, parent, CPU ticks, start time), resident memory,
 * children. Every reader returns null (or []) instead of throwing: processes come and go between
 * listing and reading. Without /proc (macOS, BSD) `HAS_PROCFS` is false and callers skip it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export const HAS_PROCFS = process.platform === 'linux' && existsSync('/proc/self/stat');

/** Clock ticks per second of utime/stime/cutime/cstime/starttime (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** CPU of the process itself, clock ticks. */
  utime: number;
  stime: number;
  /** CPU of its children that it has waited for (reaped), clock ticks. */
  cutime: number;
  cstime: number;
  /** Start time after boot in clock ticks: with the pid, identifies a process across pid reuse. */
  startTime: number;
}

/** Parses the text of /proc/<pid>/stat. The command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number.parseInt(text.slice(0, open), 10);
  // Fields after the name, numbered as in proc(5) from 3 (state): f[0] is field 3.
  const f = text.slice(close + 2).split(' ');
  const n = (field: number) => Number(f[field - 3]);
  const stat: ProcStat = {
    pid,
    state: f[0] ?? '?',
    ppid: n(4),
    pgrp: n(5),
    utime: n(14),
    stime: n(15),
    cutime: n(16),
    cstime: n(17),
    startTime: n(22),
  };
  return Number.isInteger(pid) && Object.values(stat).every((v) => typeof v === 'string' || Number.isFinite(v)) ? stat : null;
}

export function readProcStat(pid: number): ProcStat | null {
  if (!HAS_PROCFS) return null;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Every pid in /proc. */
export function listPids(): number[] {
  if (!HAS_PROCFS) return [];
  try {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) out.push(Number(name));
    }
    return out;
  } catch {
    return [];
  }
}

/** VmRSS of a process in bytes; null for a zombie or a process that is gone. */
export function readRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Direct children of a process (all its threads), from /proc/<pid>/task/<tid>/children. */
export function readChildren(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(' ')) out.push(Number(c));
    }
    return out;
  } catch {
    return [];
  }
}

/** True when the kernel offers the `children` files (CONFIG_PROC_CHILDREN). */
export const HAS_CHILDREN_FILES = HAS_PROCFS && existsSync(`/proc/self/task/${process.pid}/children`);
