/**
 * The sockets open through share links on this relay: revoking a link closes its sockets at
 * once, and a socket closes by itself when its link expires.
 */
import type { WebSocket } from 'ws';
import { CloseCode, closeReason } from '@rexec/shared';
import { log } from '../log.js';

export class ShareSockets {
  private readonly byShare = new Map<string, Set<WebSocket>>();

  add(ws: WebSocket, shareId: string, expiresAt: Date): void {
    let set = this.byShare.get(shareId);
    if (!set) this.byShare.set(shareId, (set = new Set()));
    set.add(ws);
    // setTimeout holds at most ~24.8 days; share links live at most 7.
    const timer = setTimeout(() => this.closeOne(ws, 'share link expired'), Math.max(0, expiresAt.getTime() - Date.now()));
    timer.unref();
    ws.once('close', () => {
      clearTimeout(timer);
      set.delete(ws);
      if (set.size === 0 && this.byShare.get(shareId) === set) this.byShare.delete(shareId);
    });
  }

  count(shareId: string): number {
    return this.byShare.get(shareId)?.size ?? 0;
  }

  /** Closes every socket using a share link; returns how many. */
  close(shareId: string, reason: string): number {
    const set = this.byShare.get(shareId);
    if (!set) return 0;
    const n = set.size;
    for (const ws of [...set]) this.closeOne(ws, reason);
    if (n) log.info('share link sockets closed', { share: shareId, sockets: n, reason });
    return n;
  }

  private closeOne(ws: WebSocket, reason: string): void {
    try {
      ws.close(CloseCode.Unauthorized, closeReason(reason));
    } catch {
      ws.terminate();
    }
    setTimeout(() => ws.terminate(), 2000).unref();
  }
}
