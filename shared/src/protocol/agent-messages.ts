/**
 * JSON control messages on the agent link. Names follow the Rexec agent protocol:
 * relay -> agent: hello, shell_start, shell_input, shell_resize, shell_stop, shell_attach, shell_detach,
 *                 shell_ack, shell_peek, shell_nudge, shell_snapshot, ping, exec, exec_kill, exec_flow,
 *                 run_start, run_kill, run_attach, run_ack, run_forget, error
 * agent -> relay: hello, shell_started, shell_attached, shell_output*, shell_*_result, shell_stopped,
 *                 shell_error, pong,
 *                 exec_started, exec_result, run_started, run_finished, metrics, error
 * (*) shell_output, exec and run output travel as binary frames, see ./frames.ts.
 * Run messages are defined in ./run-messages.ts.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { colsSchema, commandFields, envSchema, exactlyOneCommand, idSchema, rowsSchema, shortText } from './fields.js';
import {
  heldRunSchema,
  runAckSchema,
  runAttachSchema,
  runFinishedSchema,
  runForgetSchema,
  runKillSchema,
  runStartedSchema,
  runStartSchema,
} from './run-messages.js';
import { metricsMessageSchema } from './metrics.js';

const errorMessage = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(1024),
  /** The `type` of the message this error answers, when known. */
  ref: z.string().max(64).optional(),
  sessionId: idSchema.optional(),
  execId: idSchema.optional(),
  runId: idSchema.optional(),
});

// ---- agent -> relay ----------------------------------------------------------------------

/** A session the agent holds, reported in hello so a relay (possibly restarted) can reattach it. */
export const liveSessionSchema = z.object({
  sessionId: idSchema,
  pid: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
  /** Bytes of output produced so far (the offset of the next byte). */
  outputBytes: z.number().int().nonnegative(),
});
export type LiveSession = z.infer<typeof liveSessionSchema>;

export const agentHelloSchema = z.object({
  type: z.literal('hello'),
  protocolVersions: z.array(z.number().int().positive()).min(1).max(16),
  agentId: idSchema,
  name: shortText(LIMITS.maxNameLength),
  hostname: shortText(255),
  os: shortText(128),
  arch: shortText(32),
  shell: shortText(512),
  version: shortText(64),
  sessions: z.array(liveSessionSchema).max(LIMITS.maxSessionsPerAgent).default([]),
  /** Runs the agent holds: running, finished but not yet forgotten by a relay, or orphaned. */
  runs: z.array(heldRunSchema).max(LIMITS.maxHeldRuns).default([]),
});

export const shellStartedSchema = z.object({
  type: z.literal('shell_started'),
  sessionId: idSchema,
  pid: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
});

/** Answer to shell_attach: output follows from `fromOffset` (> the requested offset means a gap). */
export const shellAttachedSchema = z.object({
  type: z.literal('shell_attached'),
  sessionId: idSchema,
  fromOffset: z.number().int().nonnegative(),
  outputBytes: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
});

/** Answer to shell_peek: the most recent output and how long the session has been quiet. */
export const shellPeekResultSchema = z.object({
  type: z.literal('shell_peek_result'),
  sessionId: idSchema,
  requestId: idSchema,
  /** base64 of up to the requested number of most recent output bytes. */
  data: z.string().max(LIMITS.maxPeekBytes * 2),
  outputBytes: z.number().int().nonnegative(),
  idleMs: z.number().int().nonnegative(),
});

/**
 * Answer to shell_snapshot: the screen (and up to LIMITS.snapshotScrollbackLines of scrollback)
 * as escape sequences that redraw it, exact for the output before `offset`. A viewer writes it
 * and then streams from `offset`.
 */
export const shellSnapshotResultSchema = z.object({
  type: z.literal('shell_snapshot_result'),
  sessionId: idSchema,
  requestId: idSchema,
  /** base64 of the UTF-8 serialized screen (at most LIMITS.maxSnapshotBytes before encoding). */
  data: z.string().max(Math.ceil(LIMITS.maxSnapshotBytes / 3) * 4),
  /** The output offset the snapshot corresponds to (every byte before it is in the picture). */
  offset: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
});

/** Outcome of shell_nudge. */
export const shellNudgeResultSchema = z.object({
  type: z.literal('shell_nudge_result'),
  sessionId: idSchema,
  requestId: idSchema,
  status: z.enum(['delivered', 'timed_out', 'not_running']),
  /** How long the session had been quiet when the message was typed (delivered only). */
  idleMs: z.number().int().nonnegative().optional(),
});

export const shellStoppedSchema = z.object({
  type: z.literal('shell_stopped'),
  sessionId: idSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  /** Total bytes of output the session produced (the final offset). */
  outputBytes: z.number().int().nonnegative(),
});

export const shellErrorSchema = z.object({
  type: z.literal('shell_error'),
  sessionId: idSchema,
  code: z.string().max(64),
  message: z.string().max(1024),
});

export const pongSchema = z.object({ type: z.literal('pong'), ts: z.number() });

export const execStartedSchema = z.object({
  type: z.literal('exec_started'),
  execId: idSchema,
  pid: z.number().int().nonnegative(),
});

export const execResultSchema = z.object({
  type: z.literal('exec_result'),
  execId: idSchema,
  /** Exit code, or null when the process ended by a signal or never started. */
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  durationMs: z.number().int().nonnegative(),
  timedOut: z.boolean(),
  /** Set when the command could not be started (e.g. not found); exitCode is then null. */
  error: z.string().max(1024).optional(),
  stdoutBytes: z.number().int().nonnegative(),
  stderrBytes: z.number().int().nonnegative(),
  truncated: z.boolean(),
});

export const agentToRelaySchema = z.discriminatedUnion('type', [
  agentHelloSchema,
  shellStartedSchema,
  shellAttachedSchema,
  shellPeekResultSchema,
  shellSnapshotResultSchema,
  shellNudgeResultSchema,
  shellStoppedSchema,
  shellErrorSchema,
  pongSchema,
  execStartedSchema,
  execResultSchema,
  runStartedSchema,
  runFinishedSchema,
  metricsMessageSchema,
  errorMessage,
]);
export type AgentToRelay = z.infer<typeof agentToRelaySchema>;
export type AgentHello = z.infer<typeof agentHelloSchema>;
export type ExecResult = z.infer<typeof execResultSchema>;

// ---- relay -> agent ----------------------------------------------------------------------

export const relayHelloSchema = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().positive(),
  agentId: idSchema,
  heartbeatIntervalMs: z.number().int().positive(),
  deadLinkTimeoutMs: z.number().int().positive(),
});

export const shellStartSchema = z.object({
  type: z.literal('shell_start'),
  sessionId: idSchema,
  cols: colsSchema,
  rows: rowsSchema,
  /** Defaults to the agent's configured shell. */
  shell: shortText(512).optional(),
  cwd: shortText(4096).optional(),
  env: envSchema.optional(),
});

export const shellInputSchema = z.object({
  type: z.literal('shell_input'),
  sessionId: idSchema,
  data: z.string().max(LIMITS.maxInputBytes),
});

export const shellResizeSchema = z.object({
  type: z.literal('shell_resize'),
  sessionId: idSchema,
  cols: colsSchema,
  rows: rowsSchema,
});

export const shellStopSchema = z.object({
  type: z.literal('shell_stop'),
  sessionId: idSchema,
});

/** Stream this session's output from `offset` (replay from the ring, then live). */
export const shellAttachSchema = z.object({
  type: z.literal('shell_attach'),
  sessionId: idSchema,
  offset: z.number().int().nonnegative(),
});

/** Stop streaming; the session keeps running and buffering until its idle timeout. */
export const shellDetachSchema = z.object({ type: z.literal('shell_detach'), sessionId: idSchema });

/** Output up to `offset` has been rendered by a viewer: the agent may send up to offset + window. */
export const shellAckSchema = z.object({
  type: z.literal('shell_ack'),
  sessionId: idSchema,
  offset: z.number().int().nonnegative(),
});

/** The most recent `bytes` of output and the idle time (for "is it waiting?" checks). */
export const shellPeekSchema = z.object({
  type: z.literal('shell_peek'),
  sessionId: idSchema,
  requestId: idSchema,
  bytes: z.number().int().positive().max(LIMITS.maxPeekBytes),
});

/** A screen snapshot of the session (protocol v4), answered with shell_snapshot_result. */
export const shellSnapshotSchema = z.object({
  type: z.literal('shell_snapshot'),
  sessionId: idSchema,
  requestId: idSchema,
});

/**
 * Type `data` into the session: at once (quietMs 0), or once it has produced no output for
 * quietMs, giving up after timeoutMs. For AI coding agents running in terminals.
 */
export const shellNudgeSchema = z.object({
  type: z.literal('shell_nudge'),
  sessionId: idSchema,
  requestId: idSchema,
  data: z.string().min(1).max(LIMITS.maxInputBytes),
  quietMs: z.number().int().nonnegative().max(24 * 3600 * 1000),
  timeoutMs: z.number().int().positive().max(24 * 3600 * 1000),
});

export const pingSchema = z.object({ type: z.literal('ping'), ts: z.number() });

export const execSchema = z
  .object({
    type: z.literal('exec'),
    execId: idSchema,
    /** argv runs the program without a shell; command runs the text with the agent's shell. */
    ...commandFields,
    timeoutMs: z.number().int().positive().max(LIMITS.maxExecTimeoutMs),
    /** Grace between SIGTERM and SIGKILL of the process group on timeout or kill. */
    killGraceMs: z.number().int().nonnegative().max(60_000).default(2000),
  })
  .refine(...exactlyOneCommand);

export const execKillSchema = z.object({ type: z.literal('exec_kill'), execId: idSchema });

/**
 * Backpressure for an exec's output: `paused` while the client the relay streams it to does not
 * keep up; the agent stops reading the command's pipes (the command blocks in write) until
 * `paused: false`.
 */
export const execFlowSchema = z.object({ type: z.literal('exec_flow'), execId: idSchema, paused: z.boolean() });

export const relayToAgentSchema = z.discriminatedUnion('type', [
  relayHelloSchema,
  shellStartSchema,
  shellInputSchema,
  shellResizeSchema,
  shellStopSchema,
  shellAttachSchema,
  shellDetachSchema,
  shellAckSchema,
  shellPeekSchema,
  shellSnapshotSchema,
  shellNudgeSchema,
  pingSchema,
  execSchema,
  execKillSchema,
  execFlowSchema,
  runStartSchema,
  runKillSchema,
  runAttachSchema,
  runAckSchema,
  runForgetSchema,
  errorMessage,
]);
export type RelayToAgent = z.infer<typeof relayToAgentSchema>;
export type RelayHello = z.infer<typeof relayHelloSchema>;
export type ShellStart = z.infer<typeof shellStartSchema>;
export type ExecMessage = z.infer<typeof execSchema>;
export type ErrorMessage = z.infer<typeof errorMessage>;
export { errorMessage as errorMessageSchema };
