/**
 * Share links of a terminal session: a secret (`rxs_…`, shown once, stored hashed) that lets
 * anyone holding it watch (`ro`) or use (`rw`) exactly one session, until it expires (required,
 * at most 7 days) or is revoked.
 *
 *   POST   /api/sessions/{id}/shares         {mode, expiresInSeconds, label?} -> 201 CreateShareResponse
 *   GET    /api/sessions/{id}/shares         {shares: ShareView[]} (active and ended)
 *   DELETE /api/sessions/{id}/shares/{share} 204; live sockets using it close at once
 *   GET    /api/share  (Authorization: Bearer rxs_…)  ShareInfo: what a share link opens
 *
 * The token reaches the relay's WebSocket `/ws/share` in a Sec-WebSocket-Protocol entry
 * (SHARE_AUTH_SUBPROTOCOL_PREFIX + token), never in a query string.
 */
import { z } from 'zod';
import { viewerModeSchema } from '../protocol/viewers.js';

/** Longest life of a share link. */
export const SHARE_MAX_SECONDS = 7 * 24 * 3600;
/** Sub-protocol entry that carries a share token on `/ws/share`. */
export const SHARE_AUTH_SUBPROTOCOL_PREFIX = 'rexec.share.';

export const shareLabelSchema = z
  .string()
  .trim()
  .max(64)
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'labels are plain text on one line');

export const createShareRequestSchema = z.object({
  mode: viewerModeSchema,
  expiresInSeconds: z.number().int().min(60, 'a share link lives at least 60 seconds').max(SHARE_MAX_SECONDS, `a share link lives at most ${SHARE_MAX_SECONDS} seconds (7 days)`),
  label: shareLabelSchema.default(''),
});
export type CreateShareRequest = z.input<typeof createShareRequestSchema>;

export const shareViewSchema = z.object({
  id: z.string(),
  sessionId: z.string(),
  label: z.string(),
  mode: viewerModeSchema,
  /** `rxs_AbCd`: tells links apart without the secret. */
  prefix: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  /** Not revoked and not expired. */
  active: z.boolean(),
  /** Sockets using it on this relay now. */
  connected: z.number().int(),
});
export type ShareView = z.infer<typeof shareViewSchema>;

export const createShareResponseSchema = z.object({
  id: z.string(),
  /** The page that opens the share (the token travels in the URL fragment, never to a server log). */
  url: z.string(),
  /** Shown once. */
  token: z.string(),
  expiresAt: z.string(),
  share: shareViewSchema,
});
export type CreateShareResponse = z.infer<typeof createShareResponseSchema>;

export const shareInfoSchema = z.object({
  sessionId: z.string(),
  agentId: z.string(),
  agentName: z.string(),
  label: z.string(),
  mode: viewerModeSchema,
  expiresAt: z.string(),
});
export type ShareInfo = z.infer<typeof shareInfoSchema>;
