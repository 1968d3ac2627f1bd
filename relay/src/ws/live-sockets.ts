/**
 * The people's sockets open on this relay (terminals, run followers) with who opened them, so
 * that taking access away (user disabled, role or agent tags changed, password reset, token
 * revoked) closes them at once with CloseCode.Unauthorized instead of at the next reconnect.
 */
import type { WebSocket } from 'ws';
import { CloseCode, closeReason } from '@rexec/shared';
import type { Principal } from '../auth/principal.js';
import { log } from '../log.js';

export class LiveSockets {
  private readonly sockets = new Map<WebSocket, Principal>();

  add(ws: WebSocket, p: Principal): void {
    this.sockets.set(ws, p);
    ws.once('close', () => this.sockets.delete(ws));
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Closes the sockets of a user (and of tokens that user owns). */
  closeUser(userId: string, reason: string): number {
    return this.closeWhere((p) => (p.kind === 'user' && p.id === userId) || (p.kind === 'token' && p.userId === userId), reason);
  }

  closeToken(tokenId: string, reason: string): number {
    return this.closeWhere((p) => p.kind === 'token' && p.id === tokenId, reason);
  }

  closeWhere(pred: (p: Principal) => boolean, reason: string): number {
    let n = 0;
    for (const [ws, p] of this.sockets) {
      if (!pred(p)) continue;
      n++;
      this.sockets.delete(ws);
      try {
        ws.close(CloseCode.Unauthorized, closeReason(reason));
      } catch {
        ws.terminate();
      }
      setTimeout(() => ws.terminate(), 2000).unref();
    }
    if (n) log.info('live sockets closed: access revoked', { sockets: n, reason });
    return n;
  }
}

/** What revoking access does beyond the database (closing live connections). */
export interface AccessEffects {
  userAccessChanged(userId: string, reason: string): void;
  tokenRevoked(tokenId: string, reason: string): void;
}

/** Closes the person's sockets and, when given, their event streams (which reconnect with the new rights). */
export function accessEffects(live: LiveSockets, events?: { closeWhere(pred: (p: Principal) => boolean): number }): AccessEffects {
  return {
    userAccessChanged: (id, reason) => {
      live.closeUser(id, reason);
      events?.closeWhere((p) => (p.kind === 'user' && p.id === id) || (p.kind === 'token' && p.userId === id));
    },
    tokenRevoked: (id, reason) => {
      live.closeToken(id, reason);
      events?.closeWhere((p) => p.kind === 'token' && p.id === id);
    },
  };
}
