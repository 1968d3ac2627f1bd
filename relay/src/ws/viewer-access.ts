/**
 * Who may view a terminal session, and in which mode.
 *
 * - The person (user or API token) that opened a session attaches read-write: it is the owner.
 * - Admins may attach to any session on agents they can use, read-write (they can already stop
 *   and nudge any session); they are not the owner.
 * - Anyone else needs a share link, which opens exactly one session in the link's mode.
 * - Any viewer may ask for read-only (`shell_attach.readOnly`), e.g. `rexec tail`.
 * Share links cannot start shells.
 */
import type { Principal } from '../auth/principal.js';
import { describePrincipal, hasRole } from '../auth/principal.js';
import type { ViewerIdentity } from '../hub/viewer-roster.js';
import type { ViewerMode } from '@rexec/shared';

export interface ShareGrant {
  id: string;
  sessionId: string;
  label: string;
  prefix: string;
  mode: ViewerMode;
  expiresAt: Date;
}

export type TerminalAccess = { kind: 'person'; principal: Principal } | { kind: 'share'; share: ShareGrant };

/** How the socket's holder appears in records and logs. */
export function accessActor(a: TerminalAccess): string {
  return a.kind === 'person' ? describePrincipal(a.principal) : `share:${a.share.id}`;
}

function personIdentity(p: Principal, owner: boolean, mode: ViewerMode): ViewerIdentity {
  const actor = describePrincipal(p);
  return { actor, name: p.kind === 'user' ? p.name : actor, kind: p.kind === 'user' ? 'user' : 'token', mode, owner };
}

/** The identity of whoever opens a new shell (only people may). */
export function openerIdentity(a: TerminalAccess): ViewerIdentity | null {
  return a.kind === 'person' ? personIdentity(a.principal, true, 'rw') : null;
}

/** The identity of a socket attaching to a session, or null when it may not. */
export function attachIdentity(a: TerminalAccess, session: { id: string; openedBy: string }, readOnly = false): ViewerIdentity | null {
  if (a.kind === 'share') {
    if (a.share.sessionId !== session.id) return null;
    return { actor: accessActor(a), name: `share link ${a.share.label || a.share.prefix}`, kind: 'share', mode: readOnly ? 'ro' : a.share.mode, owner: false, shareId: a.share.id };
  }
  const owner = describePrincipal(a.principal) === session.openedBy;
  if (!owner && !hasRole(a.principal, 'admin')) return null;
  return personIdentity(a.principal, owner, readOnly ? 'ro' : 'rw');
}
