/**
 * Application WebSocket close codes (4000-4999). A close reason string (at most 123 bytes)
 * carries a human message; the code is what programs branch on.
 */
export const CloseCode = {
  /** Normal end (1000 is used for a plain goodbye). */
  Normal: 1000,
  /** The relay is shutting down; reconnect (possibly elsewhere). */
  GoingAway: 1001,
  /** Repeated malformed frames or a protocol violation that cannot be answered in band. */
  ProtocolError: 4000,
  /** The peer speaks no protocol version we support. Do not retry with the same build. */
  UnsupportedVersion: 4001,
  /** Credential rejected after the upgrade (revoked while connected, agent deleted). Do not retry. */
  Unauthorized: 4003,
  /** No hello in time. */
  HelloTimeout: 4004,
  /** Another link for the same agent replaced this one. Do not retry from this process. */
  Replaced: 4005,
  /** The agent was deleted on the relay. Do not retry. */
  AgentDeleted: 4006,
  /** Too many messages per second. */
  RateLimited: 4008,
  /** A message exceeded the size limit. */
  MessageTooLarge: 4009,
  /** The agent of a terminal went offline. */
  AgentOffline: 4010,
  /** The terminal session ended (shell exited or was stopped). */
  SessionEnded: 4011,
  /** No heartbeat in time. */
  DeadLink: 4012,
  /** A run socket's reader fell too far behind; reconnect with ?offset= to resume. */
  TooSlow: 4013,
  /** The run ended and all of its output was sent. */
  RunEnded: 4014,
  /** Unexpected relay-side failure. */
  InternalError: 4500,
} as const;
export type CloseCodeName = keyof typeof CloseCode;

/** Close codes after which an agent must stop reconnecting. */
export const FATAL_AGENT_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.UnsupportedVersion,
  CloseCode.Unauthorized,
  CloseCode.Replaced,
  CloseCode.AgentDeleted,
]);

/**
 * Close codes after which a terminal viewer (the web app, `rexec shell` / `attach` / `tail`) must
 * not resume its session: it ended, or this viewer may not see it. After any other close the
 * session is still there (network drop, relay restart, agent offline) and the viewer reconnects
 * with backoff from the last byte it rendered.
 */
export const FINAL_VIEWER_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.SessionEnded,
  CloseCode.Unauthorized,
  CloseCode.AgentDeleted,
  CloseCode.UnsupportedVersion,
]);

export function closeCodeName(code: number): string {
  for (const [name, value] of Object.entries(CloseCode)) if (value === code) return name;
  return `code ${code}`;
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
export function closeReason(message: string): string {
  const buf = new TextEncoder().encode(message);
  if (buf.length <= 123) return message;
  return new TextDecoder().decode(buf.subarray(0, 120)).replace(/\uFFFD$/, '') + '...';
}
