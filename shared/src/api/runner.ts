/**
 * REST shapes of the agent runner: profiles (how to invoke an AI coding CLI), prompts (what to
 * ask it), runs (one execution, with its output and outcome) and the runner settings.
 */
import { z } from 'zod';
import { LIMITS } from '../protocol/limits.js';
import { idSchema, shortText, tagsSchema } from '../protocol/fields.js';
import { resourceUsageSchema, runStatusSchema } from '../protocol/run-messages.js';
import { patchSchema } from './patch.js';

export const AGENT_TYPES = ['claude-code', 'codex', 'opencode', 'gemini-cli', 'aider', 'custom'] as const;
export const agentTypeSchema = z.enum(AGENT_TYPES);
export type AgentType = z.infer<typeof agentTypeSchema>;

/** Names of environment variables a template may use; shell internals and loader hooks are refused. */
export const RESERVED_VARIABLE_NAMES = [
  'PROMPT', 'WORKING_DIR', 'PATH', 'HOME', 'USER', 'SHELL', 'IFS', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS',
  'PS4', 'PROMPT_COMMAND', 'CDPATH', 'GLOBIGNORE', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'NODE_OPTIONS', 'TERM',
] as const;
const RESERVED = new Set<string>(RESERVED_VARIABLE_NAMES);
export const variableNameSchema = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'variable names are upper case letters, digits and "_", starting with a letter')
  .refine((n) => !RESERVED.has(n) && !n.startsWith('REXEC_') && !n.startsWith('LD_') && !n.startsWith('BASH_FUNC_'), 'this variable name is reserved');

export const slugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'slugs are lower case letters, digits and "-"');
const minutes = (max: number) => z.number().positive().max(max);
const MAX_TIMEOUT_MIN = LIMITS.maxExecTimeoutMs / 60_000;

// ---- pagination --------------------------------------------------------------------------------

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
}

// ---- profiles ----------------------------------------------------------------------------------

/** An extra environment variable of a profile. Secret values are encrypted at rest and write-only. */
export const profileEnvInputSchema = z.object({
  name: variableNameSchema,
  /** Omit to keep the stored value of an existing variable (how secrets are left unchanged). */
  value: z.string().max(32 * 1024).optional(),
  secret: z.boolean().default(false),
});
export const profileEnvViewSchema = z.object({ name: z.string(), secret: z.boolean(), value: z.string().nullable() });

export const profileFieldsSchema = z.object({
  name: z.string().min(1).max(LIMITS.maxNameLength),
  slug: slugSchema.optional(),
  agentType: agentTypeSchema,
  invocationTemplate: z.string().min(1).max(LIMITS.maxCommandBytes),
  /** Minutes. */
  defaultTimeout: minutes(MAX_TIMEOUT_MIN).default(30),
  maxTimeout: minutes(MAX_TIMEOUT_MIN).default(120),
  /** Shell that runs the template; empty: the agent's shell. */
  shell: shortText(512).default(''),
  env: z.array(profileEnvInputSchema).max(LIMITS.maxEnvVars).default([]),
  enabled: z.boolean().default(true),
  icon: shortText(64).default(''),
  /** Run under a pseudo-terminal (for CLIs that need one). */
  pty: z.boolean().default(false),
  /** Save even though the template matches a dangerous pattern. */
  acknowledgeDangerous: z.boolean().default(false),
});
export const createProfileSchema = profileFieldsSchema.refine((p) => p.maxTimeout >= p.defaultTimeout, {
  message: 'maxTimeout must be at least defaultTimeout',
  path: ['maxTimeout'],
});
export const updateProfileSchema = patchSchema(profileFieldsSchema);
export type CreateProfile = z.input<typeof createProfileSchema>;

export const profileViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  agentType: agentTypeSchema,
  invocationTemplate: z.string(),
  defaultTimeout: z.number(),
  maxTimeout: z.number(),
  shell: z.string(),
  env: z.array(profileEnvViewSchema),
  enabled: z.boolean(),
  icon: z.string(),
  pty: z.boolean(),
  builtIn: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProfileView = z.infer<typeof profileViewSchema>;

export const templateCheckSchema = z.object({
  id: z.string(),
  ok: z.boolean(),
  /** error: refused on save; warning: saved, shown to the user. */
  severity: z.enum(['error', 'warning']),
  message: z.string(),
});
export type TemplateCheck = z.infer<typeof templateCheckSchema>;
export const validateTemplateRequestSchema = z.object({
  invocationTemplate: z.string().min(1).max(LIMITS.maxCommandBytes),
  shell: shortText(512).default(''),
  acknowledgeDangerous: z.boolean().default(false),
});
export const validateTemplateResponseSchema = z.object({ valid: z.boolean(), checks: z.array(templateCheckSchema) });
export type ValidateTemplateResponse = z.infer<typeof validateTemplateResponseSchema>;

export const testProfileRequestSchema = z.object({
  agent: z.string().min(1).max(128),
  /** The harmless prompt to run; default "echo test". */
  prompt: z.string().min(1).max(1024).default('echo test'),
  workingDirectory: shortText(4096).optional(),
});

// ---- prompts -----------------------------------------------------------------------------------

export const promptVariableSchema = z.object({
  name: variableNameSchema,
  default: z.string().max(32 * 1024).optional(),
  description: shortText(LIMITS.maxDescriptionLength).optional(),
});
export const promptFieldsSchema = z.object({
  name: z.string().min(1).max(128),
  /** Inline text, or for type file-reference `@path` (read on the agent at run time). */
  content: z.string().min(1).max(LIMITS.maxPromptBytes),
  type: z.enum(['inline', 'file-reference']).default('inline'),
  agentProfileId: z.string().max(64).nullable().default(null),
  workingDirectory: shortText(4096).default(''),
  /** Minutes; null: the profile's default. */
  timeout: minutes(MAX_TIMEOUT_MIN).nullable().default(null),
  tags: tagsSchema.default([]),
  variables: z.array(promptVariableSchema).max(64).default([]),
});
export const createPromptSchema = promptFieldsSchema.refine((p) => p.type !== 'file-reference' || /^@\S/.test(p.content), {
  message: 'a file-reference prompt is "@" followed by a path',
  path: ['content'],
});
export const updatePromptSchema = patchSchema(promptFieldsSchema);
export const promptViewSchema = promptFieldsSchema.extend({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastRunStatus: runStatusSchema.nullable(),
  lastRunAt: z.string().nullable(),
});
export type PromptView = z.infer<typeof promptViewSchema>;

// ---- runs --------------------------------------------------------------------------------------

export const runRequestSchema = z
  .object({
    /** A saved prompt; its fields are defaults for everything below. */
    promptId: z.string().max(64).optional(),
    /** Ad-hoc prompt text (or "@path" with type file-reference). */
    prompt: z.string().min(1).max(LIMITS.maxPromptBytes).optional(),
    type: z.enum(['inline', 'file-reference']).optional(),
    /** Profile id or slug. */
    profile: z.string().min(1).max(64).optional(),
    /** Agent id or name. */
    agent: z.string().min(1).max(128),
    workingDirectory: shortText(4096).optional(),
    /** Minutes; capped by the profile's maxTimeout. */
    timeout: minutes(MAX_TIMEOUT_MIN).optional(),
    variables: z.record(z.string(), z.string().max(32 * 1024)).default({}),
    /** Resolve everything and return the command without running it. */
    dryRun: z.boolean().default(false),
  })
  .refine((r) => (r.promptId === undefined) !== (r.prompt === undefined), { message: 'give exactly one of "promptId" or "prompt"', path: ['prompt'] });
export type RunRequest = z.input<typeof runRequestSchema>;

export const runTriggerSchema = z.enum(['manual', 'schedule']);
export const runViewSchema = z.object({
  id: z.string(),
  promptId: z.string().nullable(),
  scheduleId: z.string().nullable(),
  agentProfileId: z.string().nullable(),
  profileName: z.string().nullable(),
  agentId: z.string(),
  agentName: z.string().nullable(),
  promptContent: z.string(),
  workingDirectory: z.string(),
  /** The command with its values shown in place (quoted), for display only. */
  command: z.string(),
  pid: z.number().int().nullable(),
  status: runStatusSchema,
  /** Why a run failed to start, was lost or timed out. */
  statusReason: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  triggeredBy: runTriggerSchema,
  requestedBy: z.string(),
  resourceUsage: resourceUsageSchema.nullable(),
  outputBytes: z.number().int(),
  truncated: z.boolean(),
  timeoutMinutes: z.number(),
  pty: z.boolean(),
});
export type RunView = z.infer<typeof runViewSchema>;
export const runPageSchema = pageSchema(runViewSchema);

export const RUN_SORT_FIELDS = ['createdAt', 'startedAt', 'finishedAt', 'durationSeconds', 'status', 'exitCode'] as const;
export const runListQuerySchema = pageQuerySchema.extend({
  status: z.string().optional().transform((s, ctx) => {
    if (!s) return undefined;
    const list = s.split(',');
    for (const v of list) if (!runStatusSchema.safeParse(v).success) ctx.addIssue({ code: 'custom', message: `unknown status "${v}"` });
    return list as z.infer<typeof runStatusSchema>[];
  }),
  trigger: runTriggerSchema.optional(),
  agent: z.string().max(128).optional(),
  profile: z.string().max(64).optional(),
  prompt: z.string().max(64).optional(),
  schedule: z.string().max(64).optional(),
  directory: z.string().max(4096).optional(),
  /** ISO dates; runs created in [from, to). */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  q: z.string().max(256).optional(),
  sort: z.enum(RUN_SORT_FIELDS).default('createdAt'),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type RunListQuery = z.input<typeof runListQuerySchema>;

/** `POST /api/run` with dryRun: what would run. */
export const dryRunResponseSchema = z.object({
  dryRun: z.literal(true),
  command: z.string(),
  template: z.string(),
  shell: z.string(),
  workingDirectory: z.string(),
  /** Variables the shell would see (profile secrets masked). */
  env: z.record(z.string(), z.string()),
  timeoutMinutes: z.number(),
  pty: z.boolean(),
  checks: z.array(templateCheckSchema),
});
export type DryRunResponse = z.infer<typeof dryRunResponseSchema>;

/**
 * Events on the run socket `/ws/runs/{id}?offset=N` (output from byte N travels as RunStdout /
 * RunStderr binary frames; a `run` event follows every status change; the relay closes with
 * CloseCode.RunEnded once the run has ended and all output was sent).
 */
export const runSocketEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), run: runViewSchema }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type RunSocketEvent = z.infer<typeof runSocketEventSchema>;

// ---- settings ----------------------------------------------------------------------------------

export const runnerSettingsSchema = z.object({
  /** Runs executing at once over all agents; more wait in order. */
  maxConcurrentRuns: z.number().int().min(1).max(1000),
  /** Runs executing at once on one agent. */
  maxConcurrentRunsPerAgent: z.number().int().min(1).max(1000),
  /** Output kept per run (bytes); the rest is dropped and the run flagged truncated. */
  outputCapBytes: z.number().int().min(64 * 1024).max(LIMITS.maxRunOutputBytes),
  /** Default timeout (minutes) of runs without a prompt or profile timeout. */
  defaultTimeout: minutes(MAX_TIMEOUT_MIN),
  /** Default working directory on agents ('' = the agent's own default). */
  defaultWorkingDirectory: shortText(4096),
  /** Days finished runs are kept; 0 keeps them forever. */
  outputRetentionDays: z.number().int().min(0).max(36500),
});
export type RunnerSettings = z.infer<typeof runnerSettingsSchema>;
export const RUNNER_SETTINGS_DEFAULTS: RunnerSettings = {
  maxConcurrentRuns: 3,
  maxConcurrentRunsPerAgent: 2,
  outputCapBytes: LIMITS.defaultRunOutputBytes,
  defaultTimeout: 30,
  defaultWorkingDirectory: '',
  outputRetentionDays: 0,
};
export const updateRunnerSettingsSchema = runnerSettingsSchema.partial();

export { idSchema as runIdSchema };
