/**
 * `GET /api/events`: the event bus as server-sent events (text/event-stream), for any signed-in
 * person (viewer and up; bearer auth like every other route).
 *
 *   retry: 3000                       reconnect hint for EventSource-style clients
 *   : connected <epoch>               comment; then one message per event:
 *   id: <epoch>-<seq>                 (absent on transient events: metrics)
 *   event: <type>
 *   data: <JSON, shared/src/api/events.ts>
 *   : ping                            every heartbeat interval (15 s), so proxies keep the stream
 *
 * `Last-Event-ID` (header, or `?lastEventId=` for clients that cannot set headers) resumes from
 * the backlog; if that is impossible the first message is `stream.reset`. A subscriber that does
 * not read (more than 1 MiB waiting) is cut; it reconnects and resumes.
 */
import { Router } from 'express';
import { ErrorCode, RexecError, type RelayEvent } from '@rexec/shared';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { principalOf, requireRole } from '../http/auth-middleware.js';
import type { EventBus, Published } from './event-bus.js';

export const HEARTBEAT_MS = 15_000;
export const RETRY_MS = 3000;
const MAX_STREAMS_PER_PRINCIPAL = 16;
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One SSE message. */
export function sseMessage(event: RelayEvent, id: string | null): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function eventsRouter(bus: EventBus, heartbeatMs = HEARTBEAT_MS): Router {
  const r = Router();
  const open = new Map<string, number>();

  r.get('/events', requireRole('viewer'), (req, res) => {
    const p: Principal = principalOf(res);
    const who = describePrincipal(p);
    if ((open.get(who) ?? 0) >= MAX_STREAMS_PER_PRINCIPAL) throw new RexecError(ErrorCode.RateLimited, `at most ${MAX_STREAMS_PER_PRINCIPAL} event streams at once`);
    open.set(who, (open.get(who) ?? 0) + 1);
    const lastEventId = req.get('last-event-id') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, heartbeatMs);

    let closed = false;
    let sub: { unsubscribe(): void } | undefined;
    let beat: NodeJS.Timeout | undefined;
    const write = (text: string) => {
      if (closed || res.writableEnded) return;
      res.write(text);
      if (res.writableLength > MAX_BUFFERED_BYTES) end();
    };
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      sub?.unsubscribe();
      open.set(who, Math.max(0, (open.get(who) ?? 1) - 1));
      if (!res.writableEnded) res.end();
    };
    write(`retry: ${RETRY_MS}\n: connected ${bus.epoch}\n\n`);
    const pending: Published[] = [];
    let ready = false;
    const subscription = bus.subscribe(
      {
        principal: p,
        deliver: (e) => (ready ? write(sseMessage(e.event, e.id)) : void pending.push(e)),
        close: end,
      },
      lastEventId,
    );
    sub = subscription;
    if (!subscription.resumed) write(sseMessage({ type: 'stream.reset', reason: 'the events since your last one are no longer known to this relay; refetch' }, null));
    ready = true;
    for (const e of pending.splice(0)) write(sseMessage(e.event, e.id));
    if (closed) return subscription.unsubscribe();
    beat = setInterval(() => write(': ping\n\n'), heartbeatMs);
    beat.unref();
    res.on('close', end);
    res.on('error', end);
  });
  return r;
}
