import { z } from 'zod';
import { LIMITS } from './limits.js';

/** Building blocks reused by the message and API schemas. */
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 characters of [A-Za-z0-9_-]');
export const colsSchema = z.number().int().min(LIMITS.minCols).max(LIMITS.maxCols);
export const rowsSchema = z.number().int().min(LIMITS.minRows).max(LIMITS.maxRows);
export const agentNameSchema = z
  .string()
  .min(1)
  .max(LIMITS.maxNameLength)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'names start with a letter or digit and use only letters, digits, ".", "_" and "-"');
export const tagSchema = z
  .string()
  .min(1)
  .max(LIMITS.maxTagLength)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'tags use only letters, digits, ".", "_", ":" and "-"');
export const tagsSchema = z.array(tagSchema).max(LIMITS.maxTags);
export const envSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are [A-Za-z_][A-Za-z0-9_]*'), z.string().max(LIMITS.maxPromptBytes))
  .refine((e) => Object.keys(e).length <= LIMITS.maxEnvVars, `at most ${LIMITS.maxEnvVars} environment variables`);
export const shortText = (max: number) => z.string().max(max);

/** What to run: `argv` (no shell) or `command` (shell text), exactly one. Used by the API and the link. */
export const commandFields = {
  argv: z.array(z.string().max(LIMITS.maxCommandBytes)).min(1).max(LIMITS.maxArgs).optional(),
  command: z.string().min(1).max(LIMITS.maxCommandBytes).optional(),
  cwd: shortText(4096).optional(),
  env: envSchema.optional(),
};
export const exactlyOneCommand = [
  (m: { argv?: unknown; command?: unknown }) => (m.argv === undefined) !== (m.command === undefined),
  'give exactly one of "argv" (a list) or "command" (shell text)',
] as const;
