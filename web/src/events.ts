/**
 * The relay's live events (`GET /api/events`, server-sent events), one stream per tab shared by
 * every page. Pages subscribe to event types; the stream opens with the first subscriber and
 * closes with the last, reconnects by itself (the relay's `retry:` hint, then backoff up to 15 s)
 * and resumes with `Last-Event-ID`. When the relay cannot replay what was missed (it restarted,
 * or the gap is too long) subscribers get a reset and refetch.
 *
 * Why fetch and not EventSource: the session token lives in sessionStorage (per tab, never a
 * cookie) and EventSource cannot send an Authorization header. This reads the same wire format
 * from a fetch body, with the bearer token, so it needs no cookie and no token in a URL.
 */
import { relayEventSchema, type RelayEvent, type RelayEventType } from '@rexec/shared';
import { expireSession, onSessionExpired } from './session-keeper.js';
import { token } from './session.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

type Handler = (e: RelayEvent) => void;
interface Sub {
  types: ReadonlySet<RelayEventType> | null;
  handler: Handler;
  onReset?: () => void;
}

const subs = new Set<Sub>();
const stateListeners = new Set<(s: LiveState) => void>();
let state: LiveState = 'offline';
let lastEventId: string | null = null;
let ac: AbortController | null = null;
let retryMs = 3000;
let attempt = 0;
let retryTimer: number | undefined;
/** Connections made so far (a reconnect without an id to resume from means a refetch). */
let reconnects = 0;

export function liveState(): LiveState {
  return state;
}

export function onLiveState(fn: (s: LiveState) => void): () => void {
  stateListeners.add(fn);
  return () => void stateListeners.delete(fn);
}

function setState(s: LiveState): void {
  if (s === state) return;
  state = s;
  document.documentElement.dataset.live = s;
  for (const l of stateListeners) l(s);
}

/** Calls `handler` for events of these types (all when null); `onReset` when events were lost. */
export function subscribe(types: RelayEventType[] | null, handler: Handler, onReset?: () => void): () => void {
  const sub: Sub = { types: types ? new Set(types) : null, handler, ...(onReset ? { onReset } : {}) };
  subs.add(sub);
  if (subs.size === 1) connect();
  return () => {
    subs.delete(sub);
    if (subs.size === 0) disconnect();
  };
}

function dispatch(e: RelayEvent): void {
  if (e.type === 'stream.reset') {
    for (const s of [...subs]) s.onReset?.();
    return;
  }
  for (const s of [...subs]) {
    if (s.types && !s.types.has(e.type)) continue;
    try {
      s.handler(e);
    } catch (err) {
      console.error('event handler failed', err);
    }
  }
}

function disconnect(): void {
  window.clearTimeout(retryTimer);
  ac?.abort();
  ac = null;
  setState('offline');
}

/** Sign-out and session changes: drop the stream (it reconnects as whoever signs in next). */
export function restartEvents(): void {
  lastEventId = null;
  if (subs.size === 0) return disconnect();
  disconnect();
  connect();
}

function scheduleRetry(): void {
  window.clearTimeout(retryTimer);
  if (subs.size === 0) return;
  setState('reconnecting');
  const delay = Math.min(15_000, retryMs * Math.pow(1.6, Math.min(attempt, 6))) * (0.8 + Math.random() * 0.4);
  attempt++;
  retryTimer = window.setTimeout(connect, delay);
}

function connect(): void {
  window.clearTimeout(retryTimer);
  ac?.abort();
  const t = token();
  if (!t) {
    setState('offline');
    return;
  }
  const mine = new AbortController();
  ac = mine;
  if (state !== 'reconnecting') setState('connecting');
  void (async () => {
    let res: Response;
    try {
      res = await fetch('/api/events', {
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${t}`, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
        cache: 'no-store',
        signal: mine.signal,
      });
    } catch {
      if (!mine.signal.aborted) scheduleRetry();
      return;
    }
    if (res.status === 401) {
      setState('offline');
      expireSession();
      return;
    }
    if (!res.ok || !res.body) {
      if (!mine.signal.aborted) scheduleRetry();
      return;
    }
    const resumedFrom = lastEventId;
    attempt = 0;
    setState('live');
    // Reconnected without an id to resume from: what happened in between is unknown.
    if (!resumedFrom && reconnects++ > 0) for (const s of [...subs]) s.onReset?.();
    try {
      await read(res.body, mine.signal);
    } catch {
      /* cut: reconnect below */
    }
    if (!mine.signal.aborted && ac === mine) scheduleRetry();
  })();
}
onSessionExpired(() => restartEvents());

async function read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  signal.addEventListener('abort', () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      message(block);
    }
  }
}

function message(block: string): void {
  const data: string[] = [];
  let id: string | null = null;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  }
  if (id) lastEventId = id;
  if (!data.length) return;
  let parsed;
  try {
    parsed = relayEventSchema.safeParse(JSON.parse(data.join('\n')));
  } catch {
    return;
  }
  if (parsed.success) dispatch(parsed.data);
}
