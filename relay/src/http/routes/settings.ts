/** /api/settings/runner: concurrency limits, output cap, defaults. Reading: viewer; changing: admin. */
import { Router } from 'express';
import { updateRunnerSettingsSchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { RunEngine } from '../../runs/run-engine.js';
import { loadRunnerSettings, saveRunnerSettings } from '../../runs/settings.js';
import { describePrincipal } from '../../auth/principal.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';

export function settingsRouter(prisma: PrismaClient, engine: RunEngine): Router {
  const r = Router();
  r.get('/settings/runner', requireRole('viewer'), async (_req, res) => {
    res.json({ settings: await loadRunnerSettings(prisma) });
  });
  r.put('/settings/runner', requireRole('admin'), async (req, res) => {
    const patch = parseBody(updateRunnerSettingsSchema, req.body);
    const settings = await saveRunnerSettings(prisma, patch);
    log.info('runner settings changed', { ...patch, by: describePrincipal(principalOf(res)) });
    await auditLog(prisma).record({ actor: describePrincipal(principalOf(res)), action: 'settings.update', target: 'runner', details: patch });
    engine.pump(); // a higher limit may let queued runs start
    await engine.applyRetention();
    res.json({ settings });
  });
  return r;
}
