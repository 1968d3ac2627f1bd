/** REST request and response shapes shared by relay, CLI and web. */
import { z } from 'zod';
import { LIMITS } from '../protocol/limits.js';
import { agentNameSchema, commandFields, exactlyOneCommand, shortText, tagsSchema } from '../protocol/fields.js';
import { execResultSchema } from '../protocol/agent-messages.js';
import { viewerInfoSchema } from '../protocol/viewers.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const loginRequestSchema = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
export const loginResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: z.object({ id: z.string(), username: z.string(), role: roleSchema, mustChangePassword: z.boolean() }),
});
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/** `GET /api/auth/me`: who the bearer is; `kind` tells a signed-in user from an API token. */
export const meResponseSchema = z.object({
  user: z.object({
    id: z.string(),
    username: z.string(),
    kind: z.enum(['user', 'token']),
    role: roleSchema,
    mustChangePassword: z.boolean(),
  }),
});
export type MeResponse = z.infer<typeof meResponseSchema>;

export const MIN_PASSWORD_LENGTH = 12;
export const changePasswordRequestSchema = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(MIN_PASSWORD_LENGTH, `passwords have at least ${MIN_PASSWORD_LENGTH} characters`).max(1024),
});

export const registerAgentRequestSchema = z.object({
  name: agentNameSchema,
  description: shortText(LIMITS.maxDescriptionLength).default(''),
  type: z.enum(['linux', 'darwin', 'windows', 'freebsd', 'other']).default('linux'),
  hostname: shortText(255).default(''),
  os: shortText(128).default(''),
  arch: shortText(32).default(''),
  shell: shortText(512).default('/bin/bash'),
  tags: tagsSchema.default([]),
});
export type RegisterAgentRequest = z.input<typeof registerAgentRequestSchema>;

export const agentViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  type: z.string(),
  hostname: z.string(),
  os: z.string(),
  arch: z.string(),
  shell: z.string(),
  tags: z.array(z.string()),
  version: z.string(),
  status: z.enum(['online', 'offline']),
  connectedAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  createdAt: z.string(),
});
export type AgentView = z.infer<typeof agentViewSchema>;

/** `PATCH /api/agents/{agent}` (admin): rename and/or re-tag. */
export const updateAgentRequestSchema = z
  .object({ name: agentNameSchema.optional(), tags: tagsSchema.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.tags !== undefined, 'give "name", "tags" or both');
export type UpdateAgentRequest = z.infer<typeof updateAgentRequestSchema>;

export const registerAgentResponseSchema = z.object({
  agent: agentViewSchema,
  /** The per-agent credential. Shown once; the relay stores only its hash. */
  credential: z.string(),
});
export type RegisterAgentResponse = z.infer<typeof registerAgentResponseSchema>;

export const rotateCredentialResponseSchema = z.object({ agentId: z.string(), credential: z.string() });

export const execRequestSchema = z
  .object({
    ...commandFields,
    timeoutSec: z.number().positive().max(LIMITS.maxExecTimeoutMs / 1000).optional(),
  })
  .refine(...exactlyOneCommand);
export type ExecRequest = z.infer<typeof execRequestSchema>;

/** Events of `POST /api/agents/{id}/exec`, one JSON object per line (application/x-ndjson). */
export const execEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), execId: z.string(), agentId: z.string(), pid: z.number().int() }),
  z.object({ type: z.literal('output'), stream: z.enum(['stdout', 'stderr']), data: z.string().describe('base64') }),
  execResultSchema.omit({ type: true, stdoutBytes: true, stderrBytes: true }).extend({ type: z.literal('exit') }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ExecEvent = z.infer<typeof execEventSchema>;

export const createTokenRequestSchema = z.object({
  name: z.string().min(1).max(64),
  role: roleSchema.default('operator'),
  expiresInDays: z.number().int().positive().max(3650).optional(),
  /** Limit the token to agents with one of these tags (empty: every agent its role allows). */
  agentTags: tagsSchema.default([]),
});
export const tokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  prefix: z.string(),
  agentTags: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenViewSchema>;
export const createTokenResponseSchema = z.object({ token: z.string(), info: tokenViewSchema });

export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  protocolVersion: z.number(),
  database: z.enum(['embedded', 'postgresql']),
  agentsOnline: z.number().int(),
});

/** `GET /api/agents/{agent}/sessions`: the open terminal sessions of an agent. */
export const sessionViewSchema = z.object({
  id: z.string(),
  agentId: z.string(),
  openedBy: z.string(),
  startedAt: z.string(),
  cols: z.number().int(),
  rows: z.number().int(),
  /** The agent holds the session now (false while the agent is offline). */
  live: z.boolean(),
  /** Sockets attached to it through this relay. */
  viewers: z.number().int(),
  /** Who they are (name, mode, since, owner). */
  attached: z.array(viewerInfoSchema).default([]),
  /** Output produced so far, as last seen by this relay (null if not seen since it started). */
  outputBytes: z.number().int().nullable(),
  lastOutputAt: z.string().nullable(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

/** `GET /api/agents/{agent}/sessions/{id}/recent?bytes=N`. */
export const sessionRecentSchema = z.object({ text: z.string(), outputBytes: z.number().int(), idleMs: z.number().int() });
export type SessionRecent = z.infer<typeof sessionRecentSchema>;

/** `POST /api/agents/{agent}/sessions/{id}/nudge`. */
export const nudgeRequestSchema = z.object({
  text: z.string().min(1).max(LIMITS.maxInputBytes),
  /** Deliver only after the session has been quiet this long (0: at once). */
  whenIdleSec: z.number().nonnegative().max(3600).default(0),
  /** Give up after this long. */
  timeoutSec: z.number().positive().max(3600).default(300),
});
export const nudgeResponseSchema = z.object({ status: z.enum(['delivered', 'timed_out', 'not_running']), idleMs: z.number().int().optional() });
export type NudgeResponse = z.infer<typeof nudgeResponseSchema>;
