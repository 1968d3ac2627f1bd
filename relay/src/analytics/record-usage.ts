/** Stores the token usage a finished run's output reported (called when a run ends on this relay). */
import type { PrismaClient } from '../generated/prisma/client.js';
import { log } from '../log.js';
import { parseUsage } from './usage-parsers.js';

export async function recordUsage(prisma: PrismaClient, runId: string): Promise<boolean> {
  const run = await prisma.run.findUnique({ where: { id: runId }, select: { stdout: true, stderr: true, agentProfile: { select: { agentType: true } } } });
  if (!run) return false;
  // Summaries may go to either stream (codex prints "tokens used" on stderr).
  const usage = parseUsage(`${run.stdout}\n${run.stderr}`, run.agentProfile?.agentType);
  if (!usage) return false;
  await prisma.runUsage.upsert({ where: { runId }, create: { runId, ...usage }, update: usage });
  log.debug('run usage recorded', { run: runId, parser: usage.parser, cost: usage.costUsd ?? undefined });
  return true;
}
