/**
 * Rexec wire protocol.
 *
 * PROTOCOL FLOW (agent link, one WebSocket per agent at /ws/agent/{agent_id}):
 *   1. The agent dials the relay with `Authorization: Bearer <agent credential>`. The relay checks
 *      the credential BEFORE answering 101; a bad credential gets HTTP 401 and a JSON error.
 *   2. The agent's first frame is `hello` (protocol version, identity, host facts). The relay
 *      answers `hello` with the accepted version and link settings, or closes with
 *      CloseCode.UnsupportedVersion / CloseCode.HelloTimeout.
 *   3. Afterwards either side sends JSON control messages (text frames, validated with the zod
 *      schemas in ./agent-messages.ts on BOTH sides) and the agent sends terminal and exec output
 *      in binary frames (./frames.ts). Unknown or malformed messages get an `error` reply; the
 *      link stays up.
 *   4. Terminal sessions outlive links and viewers (v2). The agent keeps each session's output in
 *      a ring buffer and lists its live sessions in `hello`. The relay streams a session with
 *      `shell_attach {sessionId, offset}` (replay from that byte offset, then live) and stops with
 *      `shell_detach`. Flow control is credit based: the agent sends at most `window` bytes
 *      beyond the offset acknowledged with `shell_ack`, and pauses the PTY when unacknowledged
 *      output fills the ring. A session ends when its shell exits, on `shell_stop`, or after
 *      its idle timeout with nobody attached.
 *   5. Liveness: the relay sends `ping` every heartbeatIntervalMs; the agent answers `pong`.
 *      Any received frame counts as proof of life, so pings never queue behind bulk output
 *      deciding a link is dead.
 *
 * Browser terminals use one WebSocket per terminal at /ws/terminal/{agent_id}, authenticated by
 * the session JWT in the `Sec-WebSocket-Protocol` header (see ./browser-messages.ts) plus an
 * Origin check, both before the 101.
 *
 * CHANGELOG
 *   1: first version: hello, shell_*, exec, exec_kill, ping/pong, binary output frames carrying
 *      session id and byte offset.
 *   2: resumable sessions: `hello.sessions`, shell_attach / shell_attached / shell_detach /
 *      shell_ack on the agent link; shell_attach and ack on terminal sockets. Closing a terminal
 *      socket detaches instead of stopping the shell. shell_peek / shell_nudge (recent output,
 *      idle time, typed nudges) with their *_result answers.
 *   3: runs (./run-messages.ts): run_start / run_kill / run_attach / run_ack / run_forget,
 *      run_started / run_finished, `hello.runs`, RunStdout / RunStderr frames. Runs outlive the
 *      link: the agent buffers their output until a relay attaches and acknowledges it.
 *   (3, no bump) `metrics` (./metrics.ts), agent -> relay, host metrics every few seconds. An
 *      older relay answers `error` (unknown_message, ref "metrics"); the agent then stops sending
 *      metrics on that link, so nothing else changes for it.
 *   Additive on terminal sockets (no version change; the agent link is untouched): `viewers` and
 *   `shell_resized` from the relay, `shell_attach.readOnly`, the `read_only` error code, and
 *   `/ws/share` for share links (./viewers.ts, ../api/shares.ts). Older clients ignore the new
 *   message types.
 *   4: screen snapshots: shell_snapshot / shell_snapshot_result (the serialized screen of a
 *      headless terminal mirror and the output offset it is exact for). Terminal sockets gain
 *      `shell_attach.snapshot` and the `shell_snapshot` message. Sessions also outlive the agent
 *      process (a per-session host process on the agent; no wire change).
 *   (4, no bump) `exec_flow {execId, paused}`, relay -> agent: backpressure for an exec's output
 *      while the HTTP client it streams to is behind. An older agent answers `error`
 *      (unknown_message, ref "exec_flow") and its execs stream as before.
 */
export const PROTOCOL_VERSION = 4;

/**
 * Versions this build can speak; the relay accepts the highest both sides support. A v3 peer
 * lacks only shell_snapshot, so the relay keeps serving v3 agents (viewers then get a replay).
 */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [3, 4];

/** Sub-protocol a browser asks for on the terminal socket. */
export const BROWSER_SUBPROTOCOL = 'rexec.v1';
/** Prefix of the second sub-protocol entry that carries the bearer token. */
export const BROWSER_AUTH_SUBPROTOCOL_PREFIX = 'rexec.auth.';
