/** REST shapes of user management and the audit log. */
import { z } from 'zod';
import { tagsSchema } from '../protocol/fields.js';
import { MIN_PASSWORD_LENGTH, roleSchema } from './schemas.js';

export const usernameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'usernames use letters, digits, ".", "_", "@" and "-"');

export const userViewSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  mustChangePassword: z.boolean(),
  /** Agents this user may use (by tag); empty: every agent. */
  agentTags: z.array(z.string()),
  createdAt: z.string(),
  lastLoginAt: z.string().nullable(),
  lockedUntil: z.string().nullable(),
});
export type UserView = z.infer<typeof userViewSchema>;

export const createUserRequestSchema = z.object({
  username: usernameSchema,
  role: roleSchema.default('operator'),
  /** Omit to get a one-time password that must be changed at first login. */
  password: z.string().min(MIN_PASSWORD_LENGTH, `passwords have at least ${MIN_PASSWORD_LENGTH} characters`).max(1024).optional(),
  agentTags: tagsSchema.default([]),
});
export const updateUserRequestSchema = z.object({
  role: roleSchema.optional(),
  disabled: z.boolean().optional(),
  agentTags: tagsSchema.optional(),
});
/** Answer to create (without a password) and reset: the one-time password, shown once. */
export const userWithPasswordSchema = z.object({ user: userViewSchema, oneTimePassword: z.string().optional() });

export const auditEventViewSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  ip: z.string().nullable(),
  details: z.unknown(),
  hash: z.string(),
});
export type AuditEventView = z.infer<typeof auditEventViewSchema>;
export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  /** Exact action, or a prefix ending in "." (e.g. "auth."). */
  action: z.string().max(64).optional(),
  actor: z.string().max(128).optional(),
  target: z.string().max(256).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export const auditVerifySchema = z.object({ ok: z.boolean(), entries: z.number().int(), brokenAt: z.number().int().optional(), problem: z.string().optional() });

/** `POST /api/enrollment-tokens`: a single-use token for "Add agent". */
export const createEnrollmentRequestSchema = z.object({
  /** Minutes until it expires (default 15, at most a day). */
  expiresInMinutes: z.number().int().min(1).max(1440).default(15),
  /** Tags the enrolled agent gets (they replace what the agent asks for). */
  tags: tagsSchema.default([]),
});
export const enrollmentResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  tags: z.array(z.string()),
  /** Ready to paste on the server, from a checkout of this repository. */
  installCommand: z.string(),
  /** For a server that already has rexec-agent. */
  registerCommand: z.string(),
});
export type EnrollmentResponse = z.infer<typeof enrollmentResponseSchema>;
