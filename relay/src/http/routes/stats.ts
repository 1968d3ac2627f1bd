/** GET /api/stats: run analytics (viewer). Query: from, to (ISO; default the last 30 days), bucket, agent, profile, schedule, top. */
import { Router } from 'express';
import { ErrorCode, RexecError, statsQuerySchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { computeStats } from '../../analytics/stats.js';
import { findAgent } from '../../agents/lookup.js';
import { findProfile } from '../../runs/profiles.js';
import { findSchedule } from './schedules.js';
import { parseBody } from '../errors.js';
import { requireRole } from '../auth-middleware.js';

const DAY = 86_400_000;

export function statsRouter(prisma: PrismaClient): Router {
  const r = Router();
  r.get('/stats', requireRole('viewer'), async (req, res) => {
    const q = parseBody(statsQuerySchema, req.query);
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY);
    if (from >= to) throw new RexecError(ErrorCode.ValidationFailed, 'invalid request: from: "from" must be before "to"');
    if (q.bucket === 'hour' && to.getTime() - from.getTime() > 93 * DAY) throw new RexecError(ErrorCode.ValidationFailed, 'invalid request: bucket: hourly buckets cover at most 93 days; use day or week');
    // Unknown names match nothing (as in /api/runs), rather than everything.
    const ref = async <T extends { id: string }>(v: string | undefined, find: (p: PrismaClient, x: string) => Promise<T | null>) => (v ? ((await find(prisma, v))?.id ?? v) : undefined);
    res.json(
      await computeStats(prisma, {
        from,
        to,
        bucket: q.bucket,
        agentId: await ref(q.agent, findAgent),
        profileId: await ref(q.profile, findProfile),
        scheduleId: await ref(q.schedule, findSchedule),
        top: q.top,
      }),
    );
  });
  return r;
}
