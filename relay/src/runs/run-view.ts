/** Database rows of the runner as API views. */
import { resourceUsageSchema, type RunStatus, type RunView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';

export type RunRow = Awaited<ReturnType<PrismaClient['run']['findUniqueOrThrow']>>;
export type RunRowWithProfile = RunRow & { agentProfile?: { name: string } | null };

export const ACTIVE_STATUSES: RunStatus[] = ['queued', 'running'];
export const isActive = (status: string): boolean => status === 'queued' || status === 'running';

export function runView(r: RunRowWithProfile): RunView {
  const usage = resourceUsageSchema.safeParse(r.resourceUsage);
  return {
    id: r.id,
    promptId: r.promptId,
    scheduleId: r.scheduleId,
    agentProfileId: r.agentProfileId,
    profileName: r.agentProfile?.name ?? null,
    agentId: r.agentId,
    agentName: r.agentName,
    promptContent: r.promptContent,
    workingDirectory: r.workingDirectory,
    command: r.command,
    pid: r.pid,
    status: r.status as RunStatus,
    statusReason: r.statusReason,
    exitCode: r.exitCode,
    signal: r.signal,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationSeconds: r.durationSeconds,
    triggeredBy: r.triggeredBy === 'schedule' ? 'schedule' : 'manual',
    requestedBy: r.requestedBy,
    resourceUsage: usage.success ? usage.data : null,
    outputBytes: r.outputBytes,
    truncated: r.truncated,
    timeoutMinutes: r.timeoutMinutes,
    pty: r.pty,
  };
}
