/** Signalling a whole process group (the exec's or run's leader and everything it started). */
import { readFileSync } from 'node:fs';
import { HAS_PROCFS, listPids, readProcStat } from '../procfs.js';

/**
 * Sends `signal` to process group `pgid`. False when the group no longer exists. Refuses pgid
 * 0 and 1 (kill(0) is our own group, kill(-1) every process we may signal): a group id read from
 * a file must never become either.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new Error(`refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while any process of the group exists, zombies included. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/**
 * True while a process of the group is alive. Zombies do not count: they have exited and hold
 * nothing, and where pid 1 does not reap (many containers) a member re-parented to it stays a
 * zombie for good. Without /proc this is groupAlive. Costs a /proc scan when the group exists.
 */
export function groupLive(pgid: number): boolean {
  if (!groupAlive(pgid)) return false;
  if (!HAS_PROCFS) return true;
  for (const pid of listPids()) {
    const st = readProcStat(pid);
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}

/**
 * True when `pid` is a live process. A zombie (exited, not yet reaped, e.g. an orphan in a
 * container whose init does not reap) counts as dead: on Linux its /proc state is Z.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

export interface GroupTermination {
  /** Bring the SIGKILL forward to at most `graceMs` from now (e.g. the agent is shutting down). */
  hurry(graceMs: number): void;
  /** Stop polling and forget the pending SIGKILL (the caller no longer cares). */
  cancel(): void;
}

/**
 * SIGTERM to the group now, SIGKILL after `graceMs` unless the group is gone by then (polled
 * every `pollMs`; a group left with only zombies counts as gone, checked by a /proc scan at
 * growing intervals up to 1 s). `onSettled` runs once: when the group is gone (killSent false)
 * or SIGKILL was sent (killSent true). When the group is already gone it runs synchronously.
 */
export function terminateGroup(pgid: number, graceMs: number, onSettled: (killSent: boolean) => void, pollMs = 25): GroupTermination {
  let done = false;
  let poll: NodeJS.Timeout | undefined;
  let kill: NodeJS.Timeout | undefined;
  let killAt = performance.now() + graceMs;
  const stop = () => {
    done = true;
    clearInterval(poll);
    clearTimeout(kill);
  };
  const settle = (killSent: boolean) => {
    if (done) return;
    stop();
    onSettled(killSent);
  };
  const armKill = (ms: number) => {
    clearTimeout(kill);
    kill = setTimeout(() => settle(signalGroup(pgid, 'SIGKILL')), ms);
  };
  if (!signalGroup(pgid, 'SIGTERM')) {
    settle(false);
  } else {
    let scanEvery = pollMs;
    let nextScan = performance.now() + pollMs;
    poll = setInterval(() => {
      if (!groupAlive(pgid)) return settle(false);
      const now = performance.now();
      if (now < nextScan) return;
      if (!groupLive(pgid)) return settle(false);
      scanEvery = Math.min(scanEvery * 2, 1000);
      nextScan = now + scanEvery;
    }, pollMs);
    armKill(graceMs);
  }
  return {
    hurry(ms) {
      if (done || performance.now() + ms >= killAt) return;
      killAt = performance.now() + ms;
      armKill(ms);
    },
    cancel: stop,
  };
}
