/** Schedule and fire rows as API views. */
import type { RunStatus, ScheduleFireView, ScheduleView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { ScheduleRow } from './fire.js';

type FireRow = Awaited<ReturnType<PrismaClient['scheduleFire']['findUniqueOrThrow']>>;

/** Views of schedules with prompt and agent names, last run status and next fire time. */
export async function scheduleViews(prisma: PrismaClient, rows: ScheduleRow[], nextRunTime: (s: ScheduleRow) => number | null): Promise<ScheduleView[]> {
  const ids = (list: (string | null)[]) => [...new Set(list.filter((x): x is string => x !== null))];
  const [prompts, agents, runs] = await Promise.all([
    prisma.prompt.findMany({ where: { id: { in: ids(rows.map((r) => r.promptId)) } }, select: { id: true, name: true } }),
    prisma.agent.findMany({ where: { id: { in: ids(rows.map((r) => r.agentId)) } }, select: { id: true, name: true } }),
    prisma.run.findMany({ where: { id: { in: ids(rows.map((r) => r.lastRunId)) } }, select: { id: true, status: true } }),
  ]);
  const name = (list: { id: string; name: string }[], id: string | null) => (id ? (list.find((x) => x.id === id)?.name ?? null) : null);
  return rows.map((r) => {
    const next = nextRunTime(r);
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      promptId: r.promptId,
      promptName: name(prompts, r.promptId),
      agentProfileId: r.agentProfileId,
      agentId: r.agentId,
      agentName: name(agents, r.agentId),
      agentTag: r.agentTag,
      workingDirectory: r.workingDirectory,
      timeout: r.timeout,
      variables: (r.variables ?? {}) as Record<string, string>,
      cronExpression: r.cronExpression,
      timezone: r.timezone,
      enabled: r.enabled,
      overlapPolicy: r.overlapPolicy === 'queue' ? 'queue' : 'skip',
      missedPolicy: r.missedPolicy === 'run_once' ? 'run_once' : 'skip',
      lastRunId: r.lastRunId,
      lastRunStatus: (runs.find((x) => x.id === r.lastRunId)?.status ?? null) as RunStatus | null,
      lastFireTime: r.lastFireTime?.toISOString() ?? null,
      nextRunTime: next === null ? null : new Date(next).toISOString(),
      createdBy: r.createdBy,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  });
}

export function fireView(f: FireRow): ScheduleFireView {
  return {
    id: f.id,
    scheduleId: f.scheduleId,
    fireTime: f.fireTime.toISOString(),
    trigger: f.trigger as ScheduleFireView['trigger'],
    status: f.status as ScheduleFireView['status'],
    reason: f.reason,
    runIds: f.runIds,
    relay: f.relay,
    createdAt: f.createdAt.toISOString(),
  };
}
