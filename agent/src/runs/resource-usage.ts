/**
 * Resource usage of a run's process group, SAMPLED from /proc (Linux only; elsewhere there is
 * no sampler and run_finished carries `resourceUsage: null`).
 *
 * One sampler serves every run: each tick (default 250 ms, plus once when a group is tracked)
 * it reads /proc/<pid>/stat of the processes that may belong to a tracked group: the known
 * members, their children (/proc/<pid>/task/<tid>/children) and the leader; every
 * `fullScanEvery` ticks, and on every tick where the kernel has no `children` files, it reads
 * every process instead (catching members whose parent died in between).
 *
 *   peakRssBytes  the highest sum of VmRSS over the group's processes seen in one sample.
 *   cpuUserMs / cpuSystemMs
 *                 for every process seen: its own utime/stime plus cutime/cstime (the CPU of
 *                 children it reaped), in clock ticks (USER_HZ = 100) converted to ms. A process
 *                 that vanished while its parent, also in the group, was seen afterwards was reaped
 *                 by that parent: its time is in the parent's cutime, so its own share is taken
 *                 out again (no double counting).
 *
 * Being sampled, the figures miss what happens after the last sample: the final moments of the
 * leader (reaped by the agent itself) and of short-lived processes that come and go between two
 * samples (unless a sampled parent in the group reaped them). Children a process reaps without
 * waiting (SIGCHLD ignored) are not counted by the kernel either. Treat the numbers as a good
 * estimate, not an accounting record.
 */
import type { ResourceUsage } from '@rexec/shared';
import { HAS_CHILDREN_FILES, HAS_PROCFS, listPids, readChildren, readProcStat, readRssBytes, USER_HZ, type ProcStat } from '../procfs.js';

interface Seen extends ProcStat {
  /** Number of the last sample this process was part of. */
  lastSample: number;
}

/** What one group has used so far. Fed by the sampler (or by tests with hand-made stats). */
export class GroupUsage {
  private readonly seen = new Map<number, Seen>();
  /** Processes whose pid was reused within the group: counted in full. */
  private readonly retired: Seen[] = [];
  private sampleNo = 0;
  private peakRss = 0;

  constructor(readonly pgid: number) {}

  /** The pids seen in the latest sample (candidates for the next one). */
  get members(): number[] {
    return [...this.seen.values()].filter((s) => s.lastSample === this.sampleNo).map((s) => s.pid);
  }

  /** One sample: every process of the group seen now (zombies included) and their summed RSS. */
  observe(members: readonly ProcStat[], rssBytes: number): void {
    this.sampleNo++;
    this.peakRss = Math.max(this.peakRss, rssBytes);
    for (const m of members) {
      const prev = this.seen.get(m.pid);
      if (prev && prev.startTime !== m.startTime) this.retired.push(prev);
      this.seen.set(m.pid, { ...m, lastSample: this.sampleNo });
    }
  }

  result(): ResourceUsage {
    let user = 0;
    let system = 0;
    for (const e of [...this.retired, ...this.seen.values()]) {
      user += e.utime + e.cutime;
      system += e.stime + e.cstime;
    }
    for (const e of this.seen.values()) {
      if (e.lastSample === this.sampleNo) continue; // still there at the last sample
      const parent = this.seen.get(e.ppid);
      if (parent && parent.lastSample > e.lastSample) {
        user -= e.utime + e.cutime;
        system -= e.stime + e.cstime;
      }
    }
    const ms = (ticks: number) => Math.max(0, Math.round((ticks * 1000) / USER_HZ));
    return { peakRssBytes: this.peakRss, cpuUserMs: ms(user), cpuSystemMs: ms(system) };
  }
}

export interface UsageSamplerOptions {
  /** Time between samples; default 250 ms. */
  intervalMs?: number;
  /** Read every process every this many ticks (discovers re-parented members); default 8. */
  fullScanEvery?: number;
}

export class UsageSampler {
  private readonly groups = new Map<number, GroupUsage>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly intervalMs: number;
  private readonly fullScanEvery: number;

  constructor(opts: UsageSamplerOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 250;
    this.fullScanEvery = opts.fullScanEvery ?? 8;
  }

  /** A sampler, or null where there is no /proc to sample. */
  static create(opts: UsageSamplerOptions = {}): UsageSampler | null {
    return HAS_PROCFS ? new UsageSampler(opts) : null;
  }

  /** Starts following group `pgid` and samples it once right away. */
  track(pgid: number): GroupUsage {
    const g = new GroupUsage(pgid);
    this.groups.set(pgid, g);
    this.sample(new Map([[pgid, g]]), false);
    this.timer ??= setInterval(() => this.onTick(), this.intervalMs);
    this.timer.unref?.();
    return g;
  }

  /** Stops following the group; its usage so far. */
  untrack(pgid: number): ResourceUsage | null {
    const g = this.groups.get(pgid);
    this.groups.delete(pgid);
    if (this.groups.size === 0) this.dispose();
    return g ? g.result() : null;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private onTick(): void {
    this.tick++;
    this.sample(this.groups, !HAS_CHILDREN_FILES || this.tick % this.fullScanEvery === 0);
  }

  private sample(groups: Map<number, GroupUsage>, full: boolean): void {
    if (groups.size === 0) return;
    let candidates: Iterable<number>;
    if (full) candidates = listPids();
    else {
      const set = new Set<number>();
      for (const g of groups.values()) {
        set.add(g.pgid);
        for (const pid of g.members) {
          set.add(pid);
          for (const c of readChildren(pid)) set.add(c);
        }
      }
      candidates = set;
    }
    const found = new Map<number, { stats: ProcStat[]; rss: number }>();
    for (const pid of candidates) {
      const st = readProcStat(pid);
      if (!st || !groups.has(st.pgrp)) continue;
      let bucket = found.get(st.pgrp);
      if (!bucket) found.set(st.pgrp, (bucket = { stats: [], rss: 0 }));
      bucket.stats.push(st);
      if (st.state !== 'Z') bucket.rss += readRssBytes(pid) ?? 0;
    }
    for (const [pgid, g] of groups) {
      const b = found.get(pgid);
      g.observe(b?.stats ?? [], b?.rss ?? 0);
    }
  }
}
