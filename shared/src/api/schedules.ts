/**
 * REST shapes of schedules (cron-driven runs), their fire history, webhooks (signed run
 * notifications) and the run analytics. The relay checks cron expressions fully (croner) on
 * save; the shape check here catches typos early in every client.
 */
import { z } from 'zod';
import { LIMITS } from '../protocol/limits.js';
import { shortText, tagSchema } from '../protocol/fields.js';
import { runStatusSchema } from '../protocol/run-messages.js';
import { pageQuerySchema, pageSchema, runViewSchema, variableNameSchema } from './runner.js';

const MAX_TIMEOUT_MIN = LIMITS.maxExecTimeoutMs / 60_000;

// ---- cron and time zones -----------------------------------------------------------------------

/** Five fields: minute hour day-of-month month day-of-week (names like MON or JAN, and L/W/# allowed). */
export const CRON_FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
export const cronExpressionSchema = z
  .string()
  .trim()
  .min(1, 'a cron expression is required')
  .max(256)
  .superRefine((expr, ctx) => {
    const fields = expr.split(/\s+/);
    if (fields.length !== 5) {
      ctx.addIssue({ code: 'custom', message: `a cron expression has 5 fields (${CRON_FIELD_NAMES.join(' ')}), got ${fields.length}: "${expr}"` });
      return;
    }
    fields.forEach((f, i) => {
      if (!/^[0-9A-Za-z*,/#-]+$/.test(f)) ctx.addIssue({ code: 'custom', message: `${CRON_FIELD_NAMES[i]} field "${f}" has characters cron does not know (use digits, names, * , - / L W #)` });
    });
  });

/** True for an IANA zone name this runtime knows ("UTC", "Europe/Paris"). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .superRefine((tz, ctx) => {
    if (!isValidTimeZone(tz)) ctx.addIssue({ code: 'custom', message: `unknown time zone "${tz}" (use an IANA name such as UTC, Europe/Paris or America/New_York)` });
  });

// ---- schedules ---------------------------------------------------------------------------------

/** skip: a fire while the previous run of the schedule is queued or running is skipped (logged);
 *  queue: it waits (at most one waiting fire per schedule) and starts once that run ends. */
export const overlapPolicySchema = z.enum(['skip', 'queue']);
/** skip: fire times missed while no relay was running are recorded and logged, not run;
 *  run_once: the latest of them runs once when a relay starts again. */
export const missedPolicySchema = z.enum(['skip', 'run_once']);

/** The fields without defaults: the update schema is their partial (zod 4 applies defaults inside
 *  .partial(), which would reset every omitted field on an update). */
const scheduleFields = {
  name: z
    .string()
    .min(1)
    .max(LIMITS.maxNameLength)
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:-]*$/, 'names start with a letter or digit and use letters, digits, spaces, ".", "_", ":" and "-"'),
  description: shortText(LIMITS.maxDescriptionLength),
  /** The saved prompt to run. */
  promptId: z.string().min(1).max(64),
  /** Profile id or slug; default: the prompt's profile. */
  profile: z.string().min(1).max(64).nullable(),
  /** One agent (id or name) ... */
  agent: z.string().min(1).max(128).nullable(),
  /** ... or every agent with this tag that is online at fire time (one run each). */
  agentTag: tagSchema.nullable(),
  /** Overrides the prompt's working directory. */
  workingDirectory: shortText(4096).nullable(),
  /** Minutes; overrides the prompt's / profile's timeout (capped by the profile). */
  timeout: z.number().positive().max(MAX_TIMEOUT_MIN).nullable(),
  /** Values for the prompt's {{VARIABLES}}. */
  variables: z.record(variableNameSchema, z.string().max(32 * 1024)),
  cronExpression: cronExpressionSchema,
  timezone: timeZoneSchema,
  enabled: z.boolean(),
  overlapPolicy: overlapPolicySchema,
  missedPolicy: missedPolicySchema,
};
export const scheduleFieldsSchema = z.object({
  ...scheduleFields,
  description: scheduleFields.description.default(''),
  profile: scheduleFields.profile.default(null),
  agent: scheduleFields.agent.default(null),
  agentTag: scheduleFields.agentTag.default(null),
  workingDirectory: scheduleFields.workingDirectory.default(null),
  timeout: scheduleFields.timeout.default(null),
  variables: scheduleFields.variables.default({}),
  timezone: scheduleFields.timezone.default('UTC'),
  enabled: scheduleFields.enabled.default(true),
  overlapPolicy: scheduleFields.overlapPolicy.default('skip'),
  missedPolicy: scheduleFields.missedPolicy.default('skip'),
});
const oneTarget = (s: { agent?: string | null | undefined; agentTag?: string | null | undefined }) => (s.agent == null) !== (s.agentTag == null);
const oneTargetIssue = { message: 'give exactly one of "agent" (an agent id or name) or "agentTag" (every online agent with that tag)', path: ['agent'] };
export const createScheduleSchema = scheduleFieldsSchema.refine(oneTarget, oneTargetIssue);
export type CreateSchedule = z.input<typeof createScheduleSchema>;
/** Partial; setting agent clears agentTag and the reverse, unless both are given. */
export const updateScheduleSchema = z.object(scheduleFields).partial();
export type UpdateSchedule = z.input<typeof updateScheduleSchema>;

export const scheduleViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  promptId: z.string().nullable(),
  promptName: z.string().nullable(),
  agentProfileId: z.string().nullable(),
  agentId: z.string().nullable(),
  agentName: z.string().nullable(),
  agentTag: z.string().nullable(),
  workingDirectory: z.string().nullable(),
  timeout: z.number().nullable(),
  variables: z.record(z.string(), z.string()),
  cronExpression: z.string(),
  timezone: z.string(),
  enabled: z.boolean(),
  overlapPolicy: overlapPolicySchema,
  missedPolicy: missedPolicySchema,
  lastRunId: z.string().nullable(),
  lastRunStatus: runStatusSchema.nullable(),
  lastFireTime: z.string().nullable(),
  /** Next fire time (null when disabled). */
  nextRunTime: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ScheduleView = z.infer<typeof scheduleViewSchema>;
export const schedulePageSchema = pageSchema(scheduleViewSchema);

/** Another enabled schedule that can run at the same time on the same agent and directory. */
export const scheduleConflictSchema = z.object({
  scheduleId: z.string(),
  name: z.string(),
  /** The first overlap found in the look-ahead window. */
  firstOverlapAt: z.string(),
  message: z.string(),
});
export type ScheduleConflict = z.infer<typeof scheduleConflictSchema>;
/** Create / update / show answer: the schedule and the conflicts it has (warnings, saved anyway). */
export const scheduleResponseSchema = z.object({ schedule: scheduleViewSchema, warnings: z.array(scheduleConflictSchema) });

export const scheduleListQuerySchema = pageQuerySchema.extend({
  enabled: z.enum(['true', 'false']).optional(),
  agent: z.string().max(128).optional(),
  tag: z.string().max(64).optional(),
  prompt: z.string().max(64).optional(),
  q: z.string().max(128).optional(),
});

export const previewQuerySchema = z.object({ n: z.coerce.number().int().min(1).max(100).default(5) });
/** `GET /api/schedules/preview?cron=...&timezone=...&n=5`: fire times of an unsaved expression. */
export const cronPreviewQuerySchema = previewQuerySchema.extend({ cron: cronExpressionSchema, timezone: timeZoneSchema.default('UTC') });
export const previewResponseSchema = z.object({
  cronExpression: z.string(),
  timezone: z.string(),
  /** ISO instants (UTC) ... */
  times: z.array(z.string()),
  /** ... and the same as wall-clock time in the schedule's zone, e.g. "2026-03-08 03:00 EDT". */
  local: z.array(z.string()),
});
export type PreviewResponse = z.infer<typeof previewResponseSchema>;

export const runNowRequestSchema = z.object({
  /** Start even though a previous run of the schedule is still active. */
  force: z.boolean().default(false),
});
export const runNowResponseSchema = z.object({ runs: z.array(runViewSchema), skipped: z.array(z.object({ agent: z.string(), reason: z.string() })) });

export const FIRE_STATUSES = ['fired', 'skipped', 'queued', 'missed', 'error'] as const;
export const fireStatusSchema = z.enum(FIRE_STATUSES);
export const fireTriggerSchema = z.enum(['cron', 'catch_up', 'manual']);
export const scheduleFireViewSchema = z.object({
  id: z.string(),
  scheduleId: z.string(),
  fireTime: z.string(),
  trigger: fireTriggerSchema,
  status: fireStatusSchema,
  reason: z.string().nullable(),
  runIds: z.array(z.string()),
  /** The relay process that claimed the fire (host:pid). */
  relay: z.string(),
  createdAt: z.string(),
});
export type ScheduleFireView = z.infer<typeof scheduleFireViewSchema>;
export const fireListQuerySchema = pageQuerySchema.extend({
  status: z.string().optional().transform((s, ctx) => {
    if (!s) return undefined;
    const list = s.split(',');
    for (const v of list) if (!fireStatusSchema.safeParse(v).success) ctx.addIssue({ code: 'custom', message: `unknown fire status "${v}" (${FIRE_STATUSES.join(', ')})` });
    return list as z.infer<typeof fireStatusSchema>[];
  }),
});

// ---- webhooks ----------------------------------------------------------------------------------

/** run.completed: a run ended `completed`; run.failed: it ended failed, timeout, killed or lost. */
export const WEBHOOK_EVENTS = ['run.completed', 'run.failed'] as const;
export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);
export const webhookUrlSchema = z
  .string()
  .max(2048)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'webhook URLs are http:// or https://');
const webhookFields = {
  name: z.string().min(1).max(LIMITS.maxNameLength),
  url: webhookUrlSchema,
  /** A schedule (id or name): only its runs; null: every run. */
  schedule: z.string().min(1).max(128).nullable(),
  events: z.array(webhookEventSchema).min(1),
  enabled: z.boolean(),
  /** HMAC key; generated when omitted. Write-only: shown once in the create answer. */
  secret: z.string().min(16, 'webhook secrets have at least 16 characters').max(256),
};
export const createWebhookSchema = z.object({
  ...webhookFields,
  schedule: webhookFields.schedule.default(null),
  events: webhookFields.events.default([...WEBHOOK_EVENTS]),
  enabled: webhookFields.enabled.default(true),
  secret: webhookFields.secret.optional(),
});
export const updateWebhookSchema = z.object(webhookFields).partial();
export const webhookViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  scheduleId: z.string().nullable(),
  events: z.array(webhookEventSchema),
  enabled: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WebhookView = z.infer<typeof webhookViewSchema>;
export const createWebhookResponseSchema = z.object({ webhook: webhookViewSchema, secret: z.string() });

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'failed']);
export const webhookDeliveryViewSchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  event: z.string(),
  runId: z.string().nullable(),
  status: deliveryStatusSchema,
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  responseStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
export type WebhookDeliveryView = z.infer<typeof webhookDeliveryViewSchema>;

/** The JSON body POSTed to a webhook. Headers: X-Rexec-Event, X-Rexec-Delivery, X-Rexec-Timestamp
 *  (unix seconds) and X-Rexec-Signature: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body). */
export const webhookPayloadSchema = z.object({
  event: z.union([webhookEventSchema, z.literal('ping')]),
  deliveryId: z.string(),
  createdAt: z.string(),
  run: runViewSchema.nullable(),
  schedule: z.object({ id: z.string(), name: z.string() }).nullable(),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
export const WEBHOOK_SIGNATURE_HEADER = 'x-rexec-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-rexec-timestamp';

// ---- analytics ---------------------------------------------------------------------------------

export const statsQuerySchema = z.object({
  /** ISO instants; default: the last 30 days. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  bucket: z.enum(['hour', 'day', 'week']).default('day'),
  agent: z.string().max(128).optional(),
  profile: z.string().max(64).optional(),
  schedule: z.string().max(128).optional(),
  /** Rows per ranking (directories, prompts, schedules). */
  top: z.coerce.number().int().min(1).max(100).default(10),
});

const outcomeCounts = {
  runs: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  timeout: z.number().int(),
  killed: z.number().int(),
  lost: z.number().int(),
  /** completed / ended runs (null when none ended). */
  successRate: z.number().nullable(),
  avgDurationSeconds: z.number().nullable(),
};
export const statsGroupSchema = z.object({ id: z.string().nullable(), name: z.string(), ...outcomeCounts });
export type StatsGroup = z.infer<typeof statsGroupSchema>;
export const usageTotalsSchema = z.object({
  /** Runs whose output reported usage. */
  runsWithUsage: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  /** input + output, or the reported total where only that is known (Codex). */
  totalTokens: z.number().int(),
  /** USD, as reported by the agents (null when none reported a cost). */
  costUsd: z.number().nullable(),
});
export const statsResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucket: z.enum(['hour', 'day', 'week']),
  totals: z.object(outcomeCounts),
  byProfile: z.array(statsGroupSchema),
  byPrompt: z.array(statsGroupSchema),
  bySchedule: z.array(statsGroupSchema),
  byAgentType: z.array(statsGroupSchema),
  /** Runs and average duration per time bucket (bucket start, UTC). */
  durationOverTime: z.array(z.object({ bucket: z.string(), runs: z.number().int(), avgDurationSeconds: z.number().nullable() })),
  topDirectories: z.array(z.object({ workingDirectory: z.string(), runs: z.number().int(), successRate: z.number().nullable() })),
  scheduleHealth: z.array(
    z.object({
      scheduleId: z.string(),
      name: z.string(),
      enabled: z.boolean(),
      runs: z.number().int(),
      failureRate: z.number().nullable(),
      timeoutRate: z.number().nullable(),
      fires: z.number().int(),
      skipped: z.number().int(),
      missed: z.number().int(),
      errors: z.number().int(),
      lastRunStatus: runStatusSchema.nullable(),
    }),
  ),
  usage: usageTotalsSchema.extend({ byAgentType: z.array(usageTotalsSchema.extend({ agentType: z.string() })) }),
});
export type StatsResponse = z.infer<typeof statsResponseSchema>;
