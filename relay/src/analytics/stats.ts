/**
 * Run analytics for GET /api/stats: outcomes and success rates per profile, prompt, schedule and
 * agent type; average duration per time bucket; most active working directories; schedule
 * health (failure and timeout rates, skipped / missed / failed fires); token usage and cost where
 * the agents reported them. Runs are counted by creation time in [from, to); success rate is
 * completed / ended runs (queued and running ones are not counted in rates).
 */
import type { StatsGroup, StatsResponse } from '@rexec/shared';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';

export interface StatsFilter {
  from: Date;
  to: Date;
  bucket: 'hour' | 'day' | 'week';
  agentId?: string | undefined;
  profileId?: string | undefined;
  scheduleId?: string | undefined;
  top: number;
}

interface OutcomeRow {
  runs: number;
  completed: number;
  failed: number;
  timeout: number;
  killed: number;
  lost: number;
  avg_duration: number | null;
}

const OUTCOMES = Prisma.sql`
  COUNT(*)::int AS runs,
  COUNT(*) FILTER (WHERE r.status = 'completed')::int AS completed,
  COUNT(*) FILTER (WHERE r.status = 'failed')::int AS failed,
  COUNT(*) FILTER (WHERE r.status = 'timeout')::int AS timeout,
  COUNT(*) FILTER (WHERE r.status = 'killed')::int AS killed,
  COUNT(*) FILTER (WHERE r.status = 'lost')::int AS lost,
  AVG(r.duration_seconds)::float8 AS avg_duration`;

const round = (n: number | null, digits = 4) => (n === null || !Number.isFinite(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits);

function outcome(r: OutcomeRow) {
  const ended = r.completed + r.failed + r.timeout + r.killed + r.lost;
  return {
    runs: r.runs,
    completed: r.completed,
    failed: r.failed,
    timeout: r.timeout,
    killed: r.killed,
    lost: r.lost,
    successRate: ended ? round(r.completed / ended) : null,
    avgDurationSeconds: round(r.avg_duration === null ? null : Number(r.avg_duration), 3),
  };
}

export async function computeStats(prisma: PrismaClient, f: StatsFilter): Promise<StatsResponse> {
  const where = Prisma.sql`r.created_at >= ${f.from} AND r.created_at < ${f.to}
    ${f.agentId ? Prisma.sql`AND r.agent_id = ${f.agentId}` : Prisma.empty}
    ${f.profileId ? Prisma.sql`AND r.agent_profile_id = ${f.profileId}` : Prisma.empty}
    ${f.scheduleId ? Prisma.sql`AND r.schedule_id = ${f.scheduleId}` : Prisma.empty}`;
  const q = <T>(sql: Prisma.Sql) => prisma.$queryRaw<T[]>(sql);
  type Grouped = OutcomeRow & { id: string | null; name: string | null };
  const group = (rows: Grouped[], fallback: string): StatsGroup[] => rows.map((r) => ({ id: r.id, name: r.name ?? fallback, ...outcome(r) }));
  const bucket = Prisma.raw(`'${f.bucket}'`); // a zod-checked enum value

  const [totals, byProfile, byPrompt, bySchedule, byAgentType, overTime, dirs, health, fires, usage, usageByType] = await Promise.all([
    q<OutcomeRow>(Prisma.sql`SELECT ${OUTCOMES} FROM runs r WHERE ${where}`),
    q<Grouped>(Prisma.sql`SELECT r.agent_profile_id AS id, MAX(p.name) AS name, ${OUTCOMES} FROM runs r LEFT JOIN agent_profiles p ON p.id = r.agent_profile_id
      WHERE ${where} GROUP BY r.agent_profile_id ORDER BY runs DESC, name LIMIT ${f.top}`),
    q<Grouped>(Prisma.sql`SELECT r.prompt_id AS id, MAX(pr.name) AS name, ${OUTCOMES} FROM runs r LEFT JOIN prompts pr ON pr.id = r.prompt_id
      WHERE ${where} GROUP BY r.prompt_id ORDER BY runs DESC, name LIMIT ${f.top}`),
    q<Grouped>(Prisma.sql`SELECT r.schedule_id AS id, MAX(s.name) AS name, ${OUTCOMES} FROM runs r LEFT JOIN schedules s ON s.id = r.schedule_id
      WHERE ${where} AND r.schedule_id IS NOT NULL GROUP BY r.schedule_id ORDER BY runs DESC, name LIMIT ${f.top}`),
    q<Grouped>(Prisma.sql`SELECT p.agent_type AS id, p.agent_type AS name, ${OUTCOMES} FROM runs r LEFT JOIN agent_profiles p ON p.id = r.agent_profile_id
      WHERE ${where} GROUP BY p.agent_type ORDER BY runs DESC`),
    q<{ bucket: Date; runs: number; avg_duration: number | null }>(Prisma.sql`SELECT date_trunc(${bucket}, r.created_at) AS bucket, COUNT(*)::int AS runs, AVG(r.duration_seconds)::float8 AS avg_duration
      FROM runs r WHERE ${where} GROUP BY 1 ORDER BY 1`),
    q<OutcomeRow & { dir: string }>(Prisma.sql`SELECT r.working_directory AS dir, ${OUTCOMES} FROM runs r WHERE ${where}
      GROUP BY r.working_directory ORDER BY runs DESC, dir LIMIT ${f.top}`),
    q<OutcomeRow & { id: string; name: string; enabled: boolean; last_status: string | null }>(Prisma.sql`
      SELECT s.id, s.name, s.enabled, MAX(lr.status) AS last_status,
        COUNT(r.id)::int AS runs,
        COUNT(r.id) FILTER (WHERE r.status = 'completed')::int AS completed,
        COUNT(r.id) FILTER (WHERE r.status = 'failed')::int AS failed,
        COUNT(r.id) FILTER (WHERE r.status = 'timeout')::int AS timeout,
        COUNT(r.id) FILTER (WHERE r.status = 'killed')::int AS killed,
        COUNT(r.id) FILTER (WHERE r.status = 'lost')::int AS lost,
        AVG(r.duration_seconds)::float8 AS avg_duration
      FROM schedules s
      LEFT JOIN runs r ON r.schedule_id = s.id AND ${where}
      LEFT JOIN runs lr ON lr.id = s.last_run_id
      ${f.scheduleId ? Prisma.sql`WHERE s.id = ${f.scheduleId}` : Prisma.empty}
      GROUP BY s.id, s.name, s.enabled ORDER BY s.name`),
    q<{ schedule_id: string; status: string; n: number }>(Prisma.sql`SELECT schedule_id, status, COUNT(*)::int AS n FROM schedule_fires
      WHERE fire_time >= ${f.from} AND fire_time < ${f.to} GROUP BY schedule_id, status`),
    q<UsageRow>(Prisma.sql`SELECT ${USAGE} FROM runs r JOIN run_usage u ON u.run_id = r.id WHERE ${where}`),
    q<UsageRow & { agent_type: string | null }>(Prisma.sql`SELECT p.agent_type, ${USAGE} FROM runs r JOIN run_usage u ON u.run_id = r.id
      LEFT JOIN agent_profiles p ON p.id = r.agent_profile_id WHERE ${where} GROUP BY p.agent_type ORDER BY 2 DESC`),
  ]);

  const fireCount = (id: string, status: string) => fires.find((x) => x.schedule_id === id && x.status === status)?.n ?? 0;
  return {
    from: f.from.toISOString(),
    to: f.to.toISOString(),
    bucket: f.bucket,
    totals: outcome(totals[0]!),
    byProfile: group(byProfile, '(deleted profile)'),
    byPrompt: group(byPrompt, '(ad-hoc prompt)'),
    bySchedule: group(bySchedule, '(deleted schedule)'),
    byAgentType: group(byAgentType, '(unknown)').map((g) => ({ ...g, name: g.name === '(unknown)' ? '(deleted profile)' : g.name })),
    durationOverTime: overTime.map((b) => ({ bucket: new Date(b.bucket).toISOString(), runs: b.runs, avgDurationSeconds: round(b.avg_duration === null ? null : Number(b.avg_duration), 3) })),
    topDirectories: dirs.map((d) => ({ workingDirectory: d.dir, runs: d.runs, successRate: outcome(d).successRate })),
    scheduleHealth: health.map((h) => {
      const o = outcome(h);
      const ended = o.completed + o.failed + o.timeout + o.killed + o.lost;
      return {
        scheduleId: h.id,
        name: h.name,
        enabled: h.enabled,
        runs: o.runs,
        failureRate: ended ? round((ended - o.completed) / ended) : null,
        timeoutRate: ended ? round(o.timeout / ended) : null,
        fires: ['fired', 'skipped', 'queued', 'missed', 'error'].reduce((n, s) => n + fireCount(h.id, s), 0),
        skipped: fireCount(h.id, 'skipped'),
        missed: fireCount(h.id, 'missed'),
        errors: fireCount(h.id, 'error'),
        lastRunStatus: (h.last_status ?? null) as StatsResponse['scheduleHealth'][number]['lastRunStatus'],
      };
    }),
    usage: { ...usageTotals(usage[0]!), byAgentType: usageByType.map((u) => ({ agentType: u.agent_type ?? '(deleted profile)', ...usageTotals(u) })) },
  };
}

const USAGE = Prisma.sql`COUNT(*)::int AS runs,
  COALESCE(SUM(u.input_tokens), 0)::float8 AS input, COALESCE(SUM(u.output_tokens), 0)::float8 AS output,
  COALESCE(SUM(u.cache_read_tokens), 0)::float8 AS cache_read, COALESCE(SUM(u.cache_write_tokens), 0)::float8 AS cache_write,
  COALESCE(SUM(COALESCE(u.total_tokens, COALESCE(u.input_tokens, 0) + COALESCE(u.output_tokens, 0))), 0)::float8 AS total,
  SUM(u.cost_usd)::float8 AS cost`;
interface UsageRow {
  runs: number;
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  total: number;
  cost: number | null;
}
function usageTotals(u: UsageRow) {
  return {
    runsWithUsage: u.runs,
    inputTokens: Math.round(Number(u.input)),
    outputTokens: Math.round(Number(u.output)),
    cacheReadTokens: Math.round(Number(u.cache_read)),
    cacheWriteTokens: Math.round(Number(u.cache_write)),
    totalTokens: Math.round(Number(u.total)),
    costUsd: u.cost === null ? null : round(Number(u.cost), 6),
  };
}
