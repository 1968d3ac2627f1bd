/** Runner settings (concurrency, output cap, defaults), one JSON row in the settings table. */
import { RUNNER_SETTINGS_DEFAULTS, runnerSettingsSchema, type RunnerSettings } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';

const KEY = 'runner.settings';

export async function loadRunnerSettings(prisma: PrismaClient): Promise<RunnerSettings> {
  const row = await prisma.setting.findUnique({ where: { key: KEY } });
  if (!row) return { ...RUNNER_SETTINGS_DEFAULTS };
  const parsed = runnerSettingsSchema.partial().safeParse(JSON.parse(row.value));
  return { ...RUNNER_SETTINGS_DEFAULTS, ...(parsed.success ? parsed.data : {}) };
}

export async function saveRunnerSettings(prisma: PrismaClient, patch: Partial<RunnerSettings>): Promise<RunnerSettings> {
  const next = runnerSettingsSchema.parse({ ...(await loadRunnerSettings(prisma)), ...patch });
  const value = JSON.stringify(next);
  await prisma.setting.upsert({ where: { key: KEY }, create: { key: KEY, value }, update: { value } });
  return next;
}
