/**
 * Live data for pages: hooks over the shared event stream (../events.ts) and the connection
 * state shown in the sidebar. Pages refetch (debounced) or patch in place when events arrive;
 * a slow safety refresh (60 s) covers anything a stream could not say (events of another relay).
 *
 * Test hook: `localStorage['rexec.safetyRefreshMs']` overrides the safety interval ("0" turns it
 * off, so a test proves updates come from events, not polling). `#live-state[data-state]`.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RelayEvent, RelayEventType } from '@rexec/shared';
import { liveState, onLiveState, subscribe, type LiveState } from '../events.js';
import { usePoll } from './ui.js';

export const SAFETY_REFRESH_MS = 60_000;
export const RUN_EVENTS: RelayEventType[] = ['run.created', 'run.updated', 'run.finished'];
export const SCHEDULE_EVENTS: RelayEventType[] = ['schedule.created', 'schedule.updated', 'schedule.deleted', 'schedule.fired'];

export function safetyRefreshMs(): number {
  try {
    const v = localStorage.getItem('rexec.safetyRefreshMs');
    if (v !== null && /^\d+$/.test(v)) return Number(v);
  } catch {
    /* storage refused */
  }
  return SAFETY_REFRESH_MS;
}

/** Calls `handler` for each event of these types; `onReset` when events were lost (refetch). */
export function useLiveEvents(types: RelayEventType[] | null, handler: (e: RelayEvent) => void, onReset?: () => void): void {
  const h = useRef(handler);
  h.current = handler;
  const r = useRef(onReset);
  r.current = onReset;
  const key = types?.join(',') ?? '*';
  useEffect(
    () =>
      subscribe(
        types,
        (e) => h.current(e),
        () => r.current?.(),
      ),
    [key],
  );
}

/**
 * Calls `reload` soon after a matching event (several events in a burst: once), after a reset,
 * and every safety interval while the tab is visible.
 */
export function useLiveRefresh(types: RelayEventType[], reload: () => void, filter?: (e: RelayEvent) => boolean): void {
  const timer = useRef<number | undefined>(undefined);
  const fn = useRef(reload);
  fn.current = reload;
  const soon = () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      fn.current();
    }, 120);
  };
  useEffect(() => () => window.clearTimeout(timer.current), []);
  useLiveEvents(types, (e) => (!filter || filter(e)) && soon(), soon);
  const safety = safetyRefreshMs();
  usePoll(() => safety > 0 && fn.current(), safety > 0 ? safety : 3600_000);
}

export function useLiveState(): LiveState {
  const [s, setS] = useState<LiveState>(liveState());
  useEffect(() => onLiveState(setS), []);
  return s;
}

const LABEL: Record<LiveState, string> = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Not live' };
const TITLE: Record<LiveState, string> = {
  live: 'Live updates are on: pages change as things happen on the relay',
  connecting: 'Connecting to the relay for live updates',
  reconnecting: 'The live connection to the relay was lost; retrying. Pages still refresh now and then.',
  offline: 'No live connection; pages refresh now and then',
};

/** The event stream's state in the sidebar: a dot and a word. */
export function LiveIndicator() {
  const s = useLiveState();
  return (
    <div class={`live-state live-${s}`} id="live-state" data-state={s} title={TITLE[s]} role="status" aria-live="polite">
      <span class="live-dot" aria-hidden="true" />
      <span class="nav-label">{LABEL[s]}</span>
    </div>
  );
}
