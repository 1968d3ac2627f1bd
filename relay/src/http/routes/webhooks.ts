/**
 * /api/webhooks: where run notifications go (admin only: they send run data off the relay and
 * their URLs may carry credentials). The HMAC secret is generated unless given, shown once in the
 * create answer, and stored sealed. Deliveries are listed per webhook; /test queues a ping.
 */
import { auditChanges } from '../audit-changes.js';
import { Router } from 'express';
import { createWebhookSchema, ErrorCode, pageQuerySchema, RexecError, updateWebhookSchema, type WebhookDeliveryView, type WebhookView } from '@rexec/shared';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { WebhookNotifier } from '../../notify/webhooks.js';
import { newWebhookSecret } from '../../notify/signature.js';
import { describePrincipal } from '../../auth/principal.js';
import { findSchedule } from './schedules.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';

type WebhookRow = Awaited<ReturnType<PrismaClient['webhook']['findUniqueOrThrow']>>;
type DeliveryRow = Awaited<ReturnType<PrismaClient['webhookDelivery']['findUniqueOrThrow']>>;

export function webhookView(w: WebhookRow): WebhookView {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    scheduleId: w.scheduleId,
    events: w.events as WebhookView['events'],
    enabled: w.enabled,
    createdBy: w.createdBy,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}

function deliveryView(d: DeliveryRow): WebhookDeliveryView {
  return {
    id: d.id,
    webhookId: d.webhookId,
    event: d.event,
    runId: d.runId,
    status: d.status as WebhookDeliveryView['status'],
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    responseStatus: d.responseStatus,
    error: d.error,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  };
}

const deliveryQuery = pageQuerySchema.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });

export function webhooksRouter(prisma: PrismaClient, box: SecretBox, notifier: WebhookNotifier): Router {
  const r = Router();
  r.use('/webhooks', auditChanges(prisma, 'webhook'));
  const mustFind = async (id: string) => {
    const row = await prisma.webhook.findUnique({ where: { id } });
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such webhook');
    return row;
  };
  const scheduleIdOf = async (ref: string | null | undefined) => {
    if (ref === undefined || ref === null) return ref;
    const s = await findSchedule(prisma, ref);
    if (!s) throw new RexecError(ErrorCode.NotFound, `no schedule "${ref}"`);
    return s.id;
  };

  r.get('/webhooks', requireRole('admin'), async (req, res) => {
    const q = parseBody(pageQuerySchema, req.query);
    const [rows, total] = await Promise.all([prisma.webhook.findMany({ orderBy: { createdAt: 'asc' }, skip: q.offset, take: q.limit }), prisma.webhook.count()]);
    res.json({ items: rows.map(webhookView), total, limit: q.limit, offset: q.offset });
  });

  r.post('/webhooks', requireRole('admin'), async (req, res) => {
    const body = parseBody(createWebhookSchema, req.body);
    const secret = body.secret ?? newWebhookSecret();
    const by = describePrincipal(principalOf(res));
    const row = await prisma.webhook.create({
      data: { name: body.name, url: body.url, events: body.events, enabled: body.enabled, scheduleId: (await scheduleIdOf(body.schedule)) ?? null, secret: box.seal(secret), createdBy: by },
    });
    log.info('webhook created', { webhook: row.name, schedule: row.scheduleId ?? 'all', by });
    res.status(201).json({ webhook: webhookView(row), secret });
  });

  r.get('/webhooks/:id', requireRole('admin'), async (req, res) => {
    res.json({ webhook: webhookView(await mustFind(String(req.params.id))) });
  });

  r.put('/webhooks/:id', requireRole('admin'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const body = parseBody(updateWebhookSchema, req.body);
    const { secret, schedule, ...fields } = body;
    const scheduleId = await scheduleIdOf(schedule);
    const updated = await prisma.webhook.update({
      where: { id: row.id },
      data: { ...fields, ...(scheduleId !== undefined ? { scheduleId } : {}), ...(secret ? { secret: box.seal(secret) } : {}) },
    });
    log.info('webhook updated', { webhook: updated.name, by: describePrincipal(principalOf(res)) });
    res.json({ webhook: webhookView(updated) });
  });

  r.delete('/webhooks/:id', requireRole('admin'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    await prisma.webhook.delete({ where: { id: row.id } });
    log.info('webhook deleted', { webhook: row.name, by: describePrincipal(principalOf(res)) });
    res.status(204).end();
  });

  r.post('/webhooks/:id/test', requireRole('admin'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const deliveryId = await notifier.ping(row);
    res.status(202).json({ deliveryId });
  });

  r.get('/webhooks/:id/deliveries', requireRole('admin'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const q = parseBody(deliveryQuery, req.query);
    const where = { webhookId: row.id, ...(q.status ? { status: q.status } : {}) };
    const [rows, total] = await Promise.all([prisma.webhookDelivery.findMany({ where, orderBy: { createdAt: 'desc' }, skip: q.offset, take: q.limit }), prisma.webhookDelivery.count({ where })]);
    res.json({ items: rows.map(deliveryView), total, limit: q.limit, offset: q.offset });
  });

  return r;
}
