/**
 * Conflict detection: two enabled schedules conflict when they can run at the same time on the
 * same agent in the same working directory (two AI agents editing one checkout at once).
 *
 * "Can run on the same agent": the same agent, an agent schedule whose agent has the other's tag,
 * or two tags some agent carries both of. The directory is the effective one (schedule override,
 * else the prompt's, else the runner default). "At the same time": some fire of one falls inside
 * [fire, fire + timeout) of the other within the next LOOKAHEAD_DAYS, with each run assumed to
 * last its whole timeout (the worst case: "can overlap", not "will"). Conflicts are warnings:
 * the schedule is saved, and the answer lists them.
 */
import type { ScheduleConflict } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { loadRunnerSettings } from '../runs/settings.js';
import { compileCron } from './cron.js';
import type { ScheduleRow } from './fire.js';

export const LOOKAHEAD_DAYS = 7;
const MAX_FIRES = 2000;

export interface Interval {
  start: number;
  end: number;
}

/** Sorted intervals merged where they touch or overlap. */
export function mergeIntervals(list: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const i of [...list].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}

/** The first instant at which some interval of `a` overlaps some interval of `b`, or null. */
export function firstOverlap(a: Interval[], b: Interval[]): number | null {
  const x = mergeIntervals(a);
  const y = mergeIntervals(b);
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const p = x[i]!;
    const q = y[j]!;
    if (p.start < q.end && q.start < p.end) return Math.max(p.start, q.start);
    if (p.end <= q.end) i++;
    else j++;
  }
  return null;
}

/** Fire intervals of an expression from `from` for `days`, each lasting `durationMs`. */
export function fireIntervals(cron: string, timezone: string, from: number, durationMs: number, days = LOOKAHEAD_DAYS): Interval[] {
  const spec = compileCron(cron, timezone, from);
  return spec.between(from, from + days * 86_400_000, MAX_FIRES).times.map((t) => ({ start: t, end: t + durationMs }));
}

const normDir = (d: string) => (d.length > 1 ? d.replace(/\/+$/, '') : d);

interface Facts {
  agents: Set<string>;
  directory: string;
  durationMs: number;
}

/** Conflicts of schedule `s` (saved or about to be) with the other enabled schedules. */
export async function findConflicts(prisma: PrismaClient, s: Pick<ScheduleRow, 'id' | 'agentId' | 'agentTag' | 'promptId' | 'agentProfileId' | 'workingDirectory' | 'timeout' | 'cronExpression' | 'timezone'>, now: number): Promise<ScheduleConflict[]> {
  const settings = await loadRunnerSettings(prisma);
  const facts = async (x: typeof s): Promise<Facts> => {
    const prompt = x.promptId ? await prisma.prompt.findUnique({ where: { id: x.promptId } }) : null;
    const profileId = x.agentProfileId ?? prompt?.agentProfileId ?? null;
    const profile = profileId ? await prisma.agentProfile.findUnique({ where: { id: profileId } }) : null;
    const minutes = x.timeout ?? prompt?.timeout ?? profile?.defaultTimeout ?? settings.defaultTimeout;
    const agents = x.agentId ? [x.agentId] : (await prisma.agent.findMany({ where: { tags: { has: x.agentTag ?? '' } }, select: { id: true } })).map((a) => a.id);
    return { agents: new Set(agents), directory: normDir(x.workingDirectory ?? (prompt?.workingDirectory || settings.defaultWorkingDirectory)), durationMs: Math.min(minutes, 24 * 60) * 60_000 };
  };
  const mine = await facts(s);
  if (!mine.agents.size) return [];
  const others = await prisma.schedule.findMany({ where: { enabled: true, id: { not: s.id } }, orderBy: { name: 'asc' } });
  const out: ScheduleConflict[] = [];
  let myIntervals: Interval[] | null = null;
  for (const o of others) {
    const theirs = await facts(o);
    if (theirs.directory !== mine.directory || ![...theirs.agents].some((a) => mine.agents.has(a))) continue;
    myIntervals ??= fireIntervals(s.cronExpression, s.timezone, now, mine.durationMs);
    let at: number | null;
    try {
      at = firstOverlap(myIntervals, fireIntervals(o.cronExpression, o.timezone, now, theirs.durationMs));
    } catch {
      continue; // a stored expression that no longer compiles cannot overlap anything
    }
    if (at === null) continue;
    out.push({
      scheduleId: o.id,
      name: o.name,
      firstOverlapAt: new Date(at).toISOString(),
      message: `can overlap with schedule "${o.name}" on the same agent in ${mine.directory || "the agent's default directory"} (first at ${new Date(at).toISOString()}, assuming runs last their timeout)`,
    });
  }
  return out;
}
