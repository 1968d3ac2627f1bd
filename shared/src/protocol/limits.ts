/** Limits shared by relay, agent and browser. Each is enforced where input enters a process. */
export const LIMITS = {
  /** Largest WebSocket message either side accepts (ws `maxPayload`). */
  maxMessageBytes: 1024 * 1024 + 256,
  /** Largest JSON control message. */
  maxControlMessageBytes: 256 * 1024,
  /** Largest payload of one binary output frame. */
  maxFramePayloadBytes: 1024 * 1024,
  /** Largest `shell_input.data` (a paste); bigger pastes are split by the sender. */
  maxInputBytes: 64 * 1024,
  /** Terminal size bounds. */
  minCols: 1,
  maxCols: 1000,
  minRows: 1,
  maxRows: 500,
  /** Shell sessions one agent serves at once (the agent may be configured lower). */
  maxSessionsPerAgent: 64,
  /** Most recent output one peek returns. */
  maxPeekBytes: 64 * 1024,
  /** Largest serialized screen snapshot (before base64); scrollback is cut to fit. */
  maxSnapshotBytes: 128 * 1024,
  /** Scrollback lines a snapshot includes at most, besides the screen. */
  snapshotScrollbackLines: 1000,
  /** Largest exec command (argv joined or shell text). */
  maxCommandBytes: 64 * 1024,
  maxArgs: 1024,
  maxEnvVars: 128,
  /** Longest exec timeout the relay accepts. */
  maxExecTimeoutMs: 24 * 60 * 60 * 1000,
  defaultExecTimeoutMs: 10 * 60 * 1000,
  /** Output an exec keeps per stream before it stops forwarding and flags truncation. */
  maxExecOutputBytes: 10 * 1024 * 1024,
  /** Default and largest output kept per run (configurable between 64 KiB and this). */
  defaultRunOutputBytes: 10 * 1024 * 1024,
  maxRunOutputBytes: 256 * 1024 * 1024,
  /** Runs one agent reports in hello (running + finished awaiting the relay). */
  maxHeldRuns: 256,
  /**
   * Largest prompt: it reaches the shell as $PROMPT, and Linux refuses a single environment
   * string over 128 KiB (MAX_ARG_STRLEN), so prompts stay below that with room for the name.
   */
  maxPromptBytes: 120 * 1024,
  /** Bytes of a name, tag or description. */
  maxNameLength: 64,
  maxTagLength: 32,
  maxTags: 32,
  maxDescriptionLength: 512,
  /** Time an agent has to send `hello` after the upgrade. */
  helloTimeoutMs: 10_000,
  /** Control messages per second per socket before the socket is closed (token bucket). */
  messagesPerSecond: 2000,
  messageBurst: 4000,
  /**
   * Binary output frames per second on an agent link (terminal, exec and run output), counted
   * apart from its control messages. Their volume is paced by flow control (windows and
   * acknowledgements), not by this bucket, which only stops a runaway agent: an agent with many
   * busy terminals legitimately sends thousands a second (each session flushes small output
   * every few milliseconds, and large output in frames of up to 32 KiB).
   */
  agentFramesPerSecond: 20_000,
  agentFrameBurst: 40_000,
} as const;

/** Terminal session buffering and flow control (agent side; configurable there). */
export const SESSION_DEFAULTS = {
  /** Output kept per session for resume. */
  ringBufferBytes: 1024 * 1024,
  /** Output sent beyond the acknowledged offset before the agent waits for an ack. */
  windowBytes: 512 * 1024,
  /** A session with nobody attached ends after this long. */
  idleTimeoutMs: 30 * 60 * 1000,
  /** With nobody attached and the ring full, the PTY is paused this long, then old output is overwritten. */
  detachedPauseLimitMs: 60 * 1000,
  /** Viewers acknowledge rendered output at least this often (bytes). */
  ackEveryBytes: 64 * 1024,
} as const;

/** Link timing defaults; the relay's `hello` may override them. */
export const LINK_DEFAULTS = {
  heartbeatIntervalMs: 15_000,
  /** No frame at all for this long means the link is dead (must exceed the worst drain time). */
  deadLinkTimeoutMs: 45_000,
  reconnectBaseMs: 500,
  reconnectCapMs: 30_000,
} as const;
