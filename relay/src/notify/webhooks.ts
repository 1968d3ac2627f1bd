/**
 * Webhook notifications. When a run ends on this relay (RunEngine.onEnded), one delivery row per
 * matching webhook is stored (enabled, event wanted, global or for the run's schedule) with the
 * exact JSON body to send; the unique (webhook, run, event) key keeps it to one. A delivery loop
 * (every pollMs, and at once after new rows) sends due deliveries:
 *
 * - a delivery is claimed with a conditional update (attempts + 1, next attempt pushed past the
 *   request timeout), so two relays never send the same attempt;
 * - POST with X-Rexec-Event, X-Rexec-Delivery, X-Rexec-Timestamp and X-Rexec-Signature
 *   (signature.ts); any 2xx is delivered, anything else (status, timeout, refused) is retried
 *   after retryBaseMs * 4^(attempt-1) until maxAttempts, then `failed`;
 * - every attempt's outcome (status code or error, time) is recorded on the row, so deliveries
 *   survive a relay restart and can be listed (GET /api/webhooks/{id}/deliveries).
 */
import { CoalescedPass } from '../coalesced-pass.js';
import { randomUUID } from 'node:crypto';
import type { RunStatus, WebhookPayload } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { RunEngine } from '../runs/run-engine.js';
import { log } from '../log.js';
import { signPayload } from './signature.js';

export interface NotifierOptions {
  retryBaseMs: number;
  maxAttempts: number;
  timeoutMs: number;
  pollMs: number;
}
export const NOTIFIER_DEFAULTS: NotifierOptions = { retryBaseMs: 5000, maxAttempts: 6, timeoutMs: 10_000, pollMs: 2000 };

type WebhookRow = Awaited<ReturnType<PrismaClient['webhook']['findUniqueOrThrow']>>;

export const eventOf = (status: RunStatus): 'run.completed' | 'run.failed' | null =>
  status === 'completed' ? 'run.completed' : status === 'queued' || status === 'running' ? null : 'run.failed';

export class WebhookNotifier {
  private timer: NodeJS.Timeout | undefined;
  private readonly passes = new CoalescedPass(
    () => this.sendDue().catch((err) => log.error('webhook delivery pass failed', { err: (err as Error).message })),
    () => !this.stopped,
  );
  private stopped = true;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly engine: RunEngine,
    private readonly opts: NotifierOptions = NOTIFIER_DEFAULTS,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.passes.running;
  }

  /** Stores the deliveries for a run that just ended, then sends them. */
  async onRunEnded(runId: string, status: RunStatus): Promise<void> {
    const event = eventOf(status);
    if (!event) return;
    const run = await this.engine.view(runId);
    if (!run) return;
    const hooks = await this.prisma.webhook.findMany({
      where: { enabled: true, events: { has: event }, OR: [{ scheduleId: null }, ...(run.scheduleId ? [{ scheduleId: run.scheduleId }] : [])] },
    });
    if (!hooks.length) return;
    const schedule = run.scheduleId ? await this.prisma.schedule.findUnique({ where: { id: run.scheduleId }, select: { id: true, name: true } }) : null;
    const rows = hooks.map((h) => {
      const id = randomUUID();
      const payload: WebhookPayload = { event, deliveryId: id, createdAt: new Date().toISOString(), run, schedule };
      return { id, webhookId: h.id, event, runId, payload: JSON.stringify(payload), nextAttemptAt: new Date() };
    });
    await this.prisma.webhookDelivery.createMany({ data: rows, skipDuplicates: true });
    this.kick();
  }

  /** Queues a `ping` delivery to one webhook (POST /api/webhooks/{id}/test). */
  async ping(hook: WebhookRow): Promise<string> {
    const id = randomUUID();
    const payload: WebhookPayload = { event: 'ping', deliveryId: id, createdAt: new Date().toISOString(), run: null, schedule: null };
    await this.prisma.webhookDelivery.create({ data: { id, webhookId: hook.id, event: 'ping', payload: JSON.stringify(payload), nextAttemptAt: new Date() } });
    this.kick();
    return id;
  }

  /** Sends due deliveries now. */
  kick(): void {
    if (this.stopped) return;
    const wasRunning = this.passes.running !== null;
    const pass = this.passes.run();
    if (wasRunning) return;
    clearTimeout(this.timer);
    void pass.finally(() => this.schedule(this.opts.pollMs));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private async sendDue(): Promise<void> {
    const now = new Date();
    const due = await this.prisma.webhookDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: now } },
      orderBy: { nextAttemptAt: 'asc' },
      take: 20,
      include: { webhook: true },
    });
    await Promise.all(due.map((d) => this.attempt(d)));
  }

  private async attempt(d: Awaited<ReturnType<PrismaClient['webhookDelivery']['findUniqueOrThrow']>> & { webhook: WebhookRow }): Promise<void> {
    const started = new Date();
    const claimed = await this.prisma.webhookDelivery.updateMany({
      where: { id: d.id, status: 'pending', attempts: d.attempts },
      data: { attempts: d.attempts + 1, lastAttemptAt: started, nextAttemptAt: new Date(started.getTime() + this.opts.timeoutMs + 30_000) },
    });
    if (claimed.count !== 1) return; // another relay took this attempt
    const attempt = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = this.box.open(d.webhook.secret);
      const ts = Math.floor(Date.now() / 1000);
      const res = await fetch(d.webhook.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'rexec-relay-webhook',
          'X-Rexec-Event': d.event,
          'X-Rexec-Delivery': d.id,
          'X-Rexec-Timestamp': String(ts),
          'X-Rexec-Signature': signPayload(secret, ts, d.payload),
        },
        body: d.payload,
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      error = e.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (e.cause?.message ?? e.message);
    }
    if (!error) {
      await this.prisma.webhookDelivery.update({ where: { id: d.id }, data: { status: 'delivered', responseStatus: status, error: null, deliveredAt: new Date(), nextAttemptAt: null } });
      log.info('webhook delivered', { webhook: d.webhook.name, delivery: d.id, event: d.event, attempt, status: status ?? undefined });
      return;
    }
    const last = attempt >= this.opts.maxAttempts;
    const retryIn = this.opts.retryBaseMs * 4 ** (attempt - 1);
    await this.prisma.webhookDelivery.update({
      where: { id: d.id },
      data: { status: last ? 'failed' : 'pending', responseStatus: status, error, nextAttemptAt: last ? null : new Date(Date.now() + retryIn) },
    });
    log.warn(last ? 'webhook delivery failed; giving up' : 'webhook delivery failed; will retry', { webhook: d.webhook.name, delivery: d.id, attempt, error, retryInMs: last ? undefined : retryIn });
  }
}
