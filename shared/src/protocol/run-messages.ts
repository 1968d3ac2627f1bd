/**
 * Runs on the agent link (protocol v3): prompt runs of AI coding CLIs and other long jobs that,
 * unlike `exec`, survive a lost link. The agent keeps running them, buffers their output (up to
 * the run's cap) and hands the rest over when a relay attaches again.
 *
 *   relay -> agent: run_start, run_kill, run_attach {offset}, run_ack {offset}, run_forget
 *   agent -> relay: run_started, run_finished (+ binary RunStdout / RunStderr frames)
 *
 * Output of one run is ONE byte stream (stdout and stderr interleaved in arrival order); each
 * binary frame says which stream its bytes came from and carries their offset in the combined
 * stream, so the relay can persist, resume and de-duplicate with a single number.
 *
 * The agent reports the runs it holds in `hello.runs`. For each the relay answers run_attach
 * (stream from the offset it has persisted; a finished run then repeats run_finished) or
 * run_forget (the relay no longer wants it: it is killed if still running and dropped). After
 * persisting run_finished the relay sends run_forget, and the agent frees the run.
 *
 * Template values ($PROMPT, $WORKING_DIR, prompt variables) arrive in `env` and reach the shell
 * only as environment variables: `command` is the profile's template, run as `shell -c command`.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { colsSchema, envSchema, idSchema, rowsSchema, shortText } from './fields.js';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'timeout', 'killed', 'lost'] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;
/** End states an agent can report; `lost` is decided by the relay only. */
export const agentRunEndSchema = z.enum(['completed', 'failed', 'timeout', 'killed']);
export type AgentRunEnd = z.infer<typeof agentRunEndSchema>;

export const resourceUsageSchema = z.object({
  /** Highest resident memory of the run's process group seen (sum over its processes), bytes. */
  peakRssBytes: z.number().int().nonnegative(),
  /** CPU time of the process group (user + system), milliseconds. */
  cpuUserMs: z.number().int().nonnegative(),
  cpuSystemMs: z.number().int().nonnegative(),
});
export type ResourceUsage = z.infer<typeof resourceUsageSchema>;

// ---- relay -> agent ------------------------------------------------------------------------

export const runStartSchema = z.object({
  type: z.literal('run_start'),
  runId: idSchema,
  /** The invocation template, run as `shell -c command`; values come from `env`. */
  command: z.string().min(1).max(LIMITS.maxCommandBytes),
  /** Defaults to the agent's shell. */
  shell: shortText(512).optional(),
  /** Requested working directory (absolute, or relative to the agent's default); must resolve inside the agent's allowed roots. */
  cwd: shortText(4096).optional(),
  /** PROMPT, prompt variables and the profile's extra variables. WORKING_DIR is set by the agent. */
  env: envSchema,
  /** File-reference prompt: the agent reads this file (confined to its allowed roots) into $PROMPT. */
  promptFile: shortText(4096).optional(),
  /** Run under a pseudo-terminal (for CLIs that insist on one) instead of plain pipes. */
  pty: z.boolean().default(false),
  cols: colsSchema.default(200),
  rows: rowsSchema.default(50),
  timeoutMs: z.number().int().positive().max(LIMITS.maxExecTimeoutMs),
  /** Grace between SIGTERM and SIGKILL of the process group on timeout or kill. */
  killGraceMs: z.number().int().nonnegative().max(60_000).default(5000),
  /** Output kept (and sent) per run; the rest is read and dropped, and `truncated` set. */
  maxOutputBytes: z.number().int().positive().max(LIMITS.maxRunOutputBytes),
});
export type RunStart = z.infer<typeof runStartSchema>;

export const runKillSchema = z.object({ type: z.literal('run_kill'), runId: idSchema });
/** Stream this run's output from `offset` (after a reconnect); a finished run repeats run_finished. */
export const runAttachSchema = z.object({ type: z.literal('run_attach'), runId: idSchema, offset: z.number().int().nonnegative() });
/** The relay has stored output up to `offset`: the agent may free it. */
export const runAckSchema = z.object({ type: z.literal('run_ack'), runId: idSchema, offset: z.number().int().nonnegative() });
/** The relay is done with this run (result stored, or given up as lost): kill it if running, drop it. */
export const runForgetSchema = z.object({ type: z.literal('run_forget'), runId: idSchema, reason: shortText(256).optional() });

// ---- agent -> relay ------------------------------------------------------------------------

/** A run the agent holds, listed in hello. `orphaned`: left by an earlier agent process and killed. */
export const heldRunSchema = z.object({
  runId: idSchema,
  state: z.enum(['running', 'finished', 'orphaned']),
  pid: z.number().int().nonnegative().nullable(),
  /** Bytes of output produced so far (the offset of the next byte). */
  outputBytes: z.number().int().nonnegative(),
});
export type HeldRun = z.infer<typeof heldRunSchema>;

export const runStartedSchema = z.object({
  type: z.literal('run_started'),
  runId: idSchema,
  pid: z.number().int().nonnegative(),
  /** The working directory after realpath. */
  cwd: shortText(4096),
});

export const runFinishedSchema = z.object({
  type: z.literal('run_finished'),
  runId: idSchema,
  status: agentRunEndSchema,
  /** Exit code, or null when the process ended by a signal or never started. */
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  durationMs: z.number().int().nonnegative(),
  /** Why the run could not start or how it ended abnormally (shown to the user). */
  error: z.string().max(2048).optional(),
  /** Total bytes kept (the final offset of the output stream). */
  outputBytes: z.number().int().nonnegative(),
  truncated: z.boolean(),
  resourceUsage: resourceUsageSchema.nullable(),
});
export type RunFinished = z.infer<typeof runFinishedSchema>;
