/**
 * The agent <-> session host protocol, over the host's unix socket (agent-internal; the relay
 * never sees it).
 *
 * Framing: every frame is a 4-byte big-endian length N (1..MAX_HOST_FRAME_BYTES), then N bytes:
 * one kind byte and the body.
 *   kind 0 (Json)   UTF-8 JSON control message, validated with the schemas below.
 *   kind 1 (Output) host -> agent only: a ready-made link ShellOutput frame (shared frames.ts) the
 *                   agent writes to the relay WebSocket as it is.
 *
 * Handshake: the agent's first message is `host_hello {version}`; the host answers `host_welcome`
 * (its version and the session's state) or `host_refused` and closes. Afterwards the agent sends
 * the link's session messages unchanged (shell_attach, shell_input, ...; their `sessionId` must be
 * the host's) and the host answers with the link's agent messages (shell_attached,
 * shell_peek_result, shell_stopped, ...), plus `host_progress` while nothing streams. One agent is
 * served at a time: a new connection replaces the old one.
 */
import { z } from 'zod';
import {
  MessageSplitter,
  colsSchema,
  idSchema,
  liveSessionSchema,
  rowsSchema,
  shellAckSchema,
  shellAttachedSchema,
  shellAttachSchema,
  shellDetachSchema,
  shellErrorSchema,
  shellInputSchema,
  shellNudgeResultSchema,
  shellNudgeSchema,
  shellPeekResultSchema,
  shellPeekSchema,
  shellResizeSchema,
  shellSnapshotResultSchema,
  shellSnapshotSchema,
  shellStopSchema,
  shellStoppedSchema,
} from '@rexec/shared';

export const HOST_PROTOCOL_VERSION = 1;
/** Largest frame body (kind byte included): a link frame of 1 MiB payload plus its header. */
export const MAX_HOST_FRAME_BYTES = 2 * 1024 * 1024;

export const HostFrameKind = { Json: 0, Output: 1 } as const;
export type HostFrameKind = (typeof HostFrameKind)[keyof typeof HostFrameKind];

/** How a shell ended: the fields of the link's shell_stopped. */
const exitSchema = shellStoppedSchema.pick({ exitCode: true, signal: true });

export const hostHelloSchema = z.object({ type: z.literal('host_hello'), version: z.number().int().positive() });

export const agentToHostSchema = z.discriminatedUnion('type', [
  hostHelloSchema,
  shellInputSchema,
  shellResizeSchema,
  shellStopSchema,
  shellAttachSchema,
  shellDetachSchema,
  shellAckSchema,
  shellPeekSchema,
  shellNudgeSchema,
  shellSnapshotSchema,
]);
export type AgentToHost = z.infer<typeof agentToHostSchema>;

/** The session as hello lists it (liveSessionSchema), plus what only the agent needs. */
export const hostWelcomeSchema = liveSessionSchema.extend({
  type: z.literal('host_welcome'),
  version: z.number().int().positive(),
  hostPid: z.number().int().positive(),
  startedAt: z.string().max(64),
  /** Set when the shell exited while no agent was listening; the exit waits for an attach. */
  exited: exitSchema.nullable(),
});
export type HostWelcome = z.infer<typeof hostWelcomeSchema>;

export const hostRefusedSchema = z.object({ type: z.literal('host_refused'), message: z.string().max(1024) });

/** Sent at most every second while output is produced and not streamed (for hello's outputBytes). */
export const hostProgressSchema = z.object({
  type: z.literal('host_progress'),
  outputBytes: z.number().int().nonnegative(),
  cols: colsSchema,
  rows: rowsSchema,
});

export const hostErrorSchema = z.object({ type: z.literal('host_error'), message: z.string().max(1024) });

export const hostToAgentSchema = z.discriminatedUnion('type', [
  hostWelcomeSchema,
  hostRefusedSchema,
  hostProgressSchema,
  hostErrorSchema,
  shellAttachedSchema,
  shellPeekResultSchema,
  shellSnapshotResultSchema,
  shellNudgeResultSchema,
  shellStoppedSchema,
  shellErrorSchema,
]);
export type HostToAgent = z.infer<typeof hostToAgentSchema>;

/** What a host is started with (JSON on its stdin). */
export const hostSpecSchema = z.object({
  sessionId: idSchema,
  shell: z.string().min(1).max(4096),
  args: z.array(z.string().max(4096)).max(64),
  cwd: z.string().min(1).max(4096),
  env: z.record(z.string(), z.string()),
  cols: colsSchema,
  rows: rowsSchema,
  /** Where the host keeps `<id>.json`, and the socket path it listens on. */
  stateDir: z.string().min(1).max(4096),
  socketPath: z.string().min(1).max(107),
  ringBytes: z.number().int().positive(),
  windowBytes: z.number().int().positive(),
  idleTimeoutMs: z.number().int().positive(),
  detachedPauseLimitMs: z.number().int().nonnegative(),
  stopGraceMs: z.number().int().nonnegative(),
  flushMs: z.number().int().nonnegative(),
  flushBytes: z.number().int().positive(),
});
export type HostSpec = z.infer<typeof hostSpecSchema>;

export function encodeHostFrame(kind: HostFrameKind, body: Uint8Array): Buffer {
  return Buffer.concat([hostFrameHeader(kind, body.length), body]);
}

/** The 5 bytes before a frame's body (length, kind), for writing header and body separately. */
export function hostFrameHeader(kind: HostFrameKind, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out.writeUInt32BE(bodyLength + 1, 0);
  out[4] = kind;
  return out;
}

export function encodeHostJson(msg: AgentToHost | HostToAgent): Buffer {
  return encodeHostFrame(HostFrameKind.Json, Buffer.from(JSON.stringify(msg), 'utf8'));
}

export class HostFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostFrameError';
  }
}

/**
 * Splits a byte stream into frames (shared's MessageSplitter with this framing). `push` throws
 * HostFrameError on a bad length or kind; the caller then drops the connection (the stream cannot
 * be resynchronised).
 */
export class HostFrameReader {
  private readonly splitter: MessageSplitter<Buffer>;

  constructor(onFrame: (kind: HostFrameKind, body: Buffer) => void) {
    this.splitter = new MessageSplitter<Buffer>(
      {
        headerBytes: () => 4,
        messageBytes: (head) => {
          const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
          if (len < 1 || len > MAX_HOST_FRAME_BYTES) throw new HostFrameError(`bad frame length ${len}`);
          return 4 + len;
        },
      },
      (frame) => {
        const kind = frame[4]!;
        if (kind !== HostFrameKind.Json && kind !== HostFrameKind.Output) throw new HostFrameError(`unknown frame kind ${kind}`);
        onFrame(kind as HostFrameKind, frame.subarray(5));
      },
      (parts, total) => Buffer.concat(parts, total),
    );
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }
}

/** Parses a JSON frame body; null (with the reason) when it is not a valid message. */
export function parseHostJson<T>(schema: z.ZodType<T>, body: Buffer): { ok: true; msg: T } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, error: `invalid message${first?.path.length ? ` at ${first.path.join('.')}` : ''}: ${first?.message ?? 'invalid'}` };
  }
  return { ok: true, msg: r.data };
}
