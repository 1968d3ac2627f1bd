/**
 * The app's small component kit: buttons, badges, empty and error states, modal, toasts, icons,
 * and the hooks every page uses (async data, ticking clock, polling). Everything a page shows
 * comes through these, so pages look and behave alike.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { RunStatus } from '@rexec/shared';
import { errorText } from '../api.js';

// ---- icons ---------------------------------------------------------------------------------

const ICONS: Record<string, string> = {
  dashboard: 'M3 3h7v9H3zM14 3h7v5h-7zM14 12h7v9h-7zM3 16h7v5H3z',
  agents: 'M4 5h16v10H4zM8 19h8M12 15v4',
  terminal: 'M4 17l6-5-6-5M12 19h8',
  run: 'M6 4l14 8-14 8z',
  prompts: 'M5 3h10l4 4v14H5zM9 9h6M9 13h6M9 17h4',
  schedules: 'M12 7v5l3 3M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z',
  history: 'M3 12a9 9 0 1 0 3-6.7M3 4v5h5M12 8v4l3 2',
  analytics: 'M4 20V10M10 20V4M16 20v-7M22 20H2',
  settings: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  admin: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  sun: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4',
  moon: 'M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z',
  system: 'M3 4h18v12H3zM8 20h8M12 16v4',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  check: 'M20 6L9 17l-5-5',
  x: 'M18 6L6 18M6 6l12 12',
  plus: 'M12 5v14M5 12h14',
  search: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM21 21l-5-5',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
  download: 'M12 3v12M7 10l5 5 5-5M4 21h16',
  expand: 'M15 3h6v6M9 21H3v-6M21 3l-7 7M3 21l7-7',
  stop: 'M6 6h12v12H6z',
  trash: 'M3 6h18M8 6V4h8v2M6 6l1 14h10l1-14',
  edit: 'M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z',
  tag: 'M20.6 13.4l-7.2 7.2a2 2 0 0 1-2.8 0L3 13V3h10l7.6 7.6a2 2 0 0 1 0 2.8zM7.5 7.5h.01',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2',
  menu: 'M3 6h18M3 12h18M3 18h18',
  refresh: 'M21 12a9 9 0 1 1-2.6-6.4M21 3v6h-6',
  zap: 'M13 2L3 14h9l-1 8 10-12h-9z',
};

export function Icon({ name, size = 16, class: cls }: { name: string; size?: number; class?: string }) {
  return (
    <svg class={`icon ${cls ?? ''}`} width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={ICONS[name] ?? ICONS.x} />
    </svg>
  );
}

// ---- status --------------------------------------------------------------------------------

const STATUS_LABEL: Record<RunStatus, string> = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  timeout: 'timed out',
  killed: 'killed',
  lost: 'lost',
};

export function isActiveStatus(s: RunStatus | null | undefined): boolean {
  return s === 'queued' || s === 'running';
}

/** A run's status: spinner while active, check, cross; colour by outcome. */
export function StatusBadge({ status, compact }: { status: RunStatus | null; compact?: boolean }) {
  if (!status) return <span class="muted">never run</span>;
  const glyph = status === 'running' || status === 'queued' ? <span class="spinner" aria-hidden="true" /> : status === 'completed' ? <Icon name="check" size={12} /> : <Icon name="x" size={12} />;
  return (
    <span class={`status status-${status}`} data-status={status} title={STATUS_LABEL[status]}>
      {glyph}
      {compact ? null : <span>{STATUS_LABEL[status]}</span>}
    </span>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label ?? 'Loading…'}
    </span>
  );
}

// ---- layout pieces -------------------------------------------------------------------------

export function PageHead({ title, sub, children }: { title: string; sub?: ComponentChildren; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Rexec`;
  }, [title]);
  return (
    <div class="page-title">
      <h1>{title}</h1>
      {sub ? <span class="summary">{sub}</span> : null}
      <div class="spacer" />
      {children ? <div class="page-actions">{children}</div> : null}
    </div>
  );
}

export function Empty({ title, children, action, testid }: { title: string; children?: ComponentChildren; action?: ComponentChildren; testid?: string }) {
  return (
    <div class="empty" data-testid={testid}>
      <h2>{title}</h2>
      {children ? <p>{children}</p> : null}
      {action ? <div class="empty-action">{action}</div> : null}
    </div>
  );
}

export function ErrorBanner({ error, onRetry, prefix }: { error: unknown; onRetry?: () => void; prefix?: string }) {
  if (!error) return null;
  return (
    <p class="banner banner-error" role="alert" data-testid="error-banner">
      <span>
        {prefix ? `${prefix}: ` : ''}
        {errorText(error)}
      </span>
      {onRetry ? (
        <button type="button" class="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </p>
  );
}

/** "Not available yet" for a page whose relay API is not there (GET answered 404). */
export function NotAvailable({ what, api }: { what: string; api: string }) {
  return (
    <Empty title={`${what} are not available yet`} testid="not-available">
      This relay has no <code>{api}</code> API yet. The page lights up by itself once the relay is updated to a version that has it; nothing is shown until then.
    </Empty>
  );
}

export function Modal({ title, onClose, children, footer, wide, testid }: { title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren; wide?: boolean; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, textarea, select, button:not(.modal-close)');
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, []);
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class={`modal card ${wide ? 'modal-wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} ref={ref} data-testid={testid}>
        <div class="modal-head">
          <h2>{title}</h2>
          <button type="button" class="icon-btn modal-close" aria-label="Close" onClick={onClose}>
            <Icon name="x" />
          </button>
        </div>
        <div class="modal-body">{children}</div>
        {footer ? <div class="modal-foot">{footer}</div> : null}
      </div>
    </div>
  );
}

export function Field({ label, hint, error, children, id }: { label: string; hint?: ComponentChildren; error?: string | null; children: ComponentChildren; id?: string }) {
  return (
    <div class={`field ${error ? 'has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {error ? <p class="field-error" role="alert">{error}</p> : hint ? <p class="hint">{hint}</p> : null}
    </div>
  );
}

/**
 * A filter in a `.filters` bar: a label over a select whose first choice ("any", value "") means
 * no filter. `options` are `[value, label]` pairs.
 */
export function FilterSelect({ label, id, value, options, onChange, anyLabel = 'any' }: { label: string; id: string; value: string; options: readonly (readonly [string, string])[]; onChange: (value: string) => void; anyLabel?: string }) {
  return (
    <label class="f">
      {label}
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">{anyLabel}</option>
        {options.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
    </label>
  );
}

// ---- toasts --------------------------------------------------------------------------------

interface ToastItem {
  id: number;
  text: string;
  kind: 'ok' | 'error' | 'info';
}
let toastSeq = 0;
const toastListeners = new Set<(t: ToastItem[]) => void>();
let toasts: ToastItem[] = [];

export function toast(text: string, kind: ToastItem['kind'] = 'ok'): void {
  const t = { id: ++toastSeq, text, kind };
  toasts = [...toasts, t];
  toastListeners.forEach((l) => l(toasts));
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    toastListeners.forEach((l) => l(toasts));
  }, kind === 'error' ? 7000 : 3500);
}

export function Toasts() {
  const [items, setItems] = useState<ToastItem[]>(toasts);
  useEffect(() => {
    toastListeners.add(setItems);
    return () => void toastListeners.delete(setItems);
  }, []);
  return (
    <div class="toasts" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid="toast">
          {t.text}
        </div>
      ))}
    </div>
  );
}

// ---- hooks ---------------------------------------------------------------------------------

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads `fn()` on mount and when `deps` change; `reload()` refetches keeping the old data shown. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    fn(ac.signal)
      .then((d) => {
        if (ac.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload };
}

/**
 * Actions on table rows (enable, run now, reset, ...): which row is busy, and the error of the
 * last action shown in that row. `act(id, fn)` runs `fn`, then `reload`, or keeps its error.
 */
export function useRowActions(reload: () => void): {
  busy: string;
  rowError: { id: string; text: string } | null;
  setRowError: (e: { id: string; text: string } | null) => void;
  act: (id: string, fn: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState('');
  const [rowError, setRowError] = useState<{ id: string; text: string } | null>(null);
  const act = async (id: string, fn: () => Promise<void>) => {
    setBusy(id);
    setRowError(null);
    try {
      await fn();
      reload();
    } catch (err) {
      setRowError({ id, text: errorText(err) });
    } finally {
      setBusy('');
    }
  };
  return { busy, rowError, setRowError, act };
}

/** Calls `fn` every `ms` while the tab is visible (and at once when it becomes visible). */
export function usePoll(fn: () => void, ms: number, deps: unknown[] = []): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    const onVis = () => document.visibilityState === 'visible' && ref.current();
    document.addEventListener('visibilitychange', onVis);
    return () => {
      window.clearInterval(id);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, [ms, ...deps]);
}

/** The current time, re-rendering every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}

// ---- formatting ----------------------------------------------------------------------------

/** 0:07, 3:12, 1:02:03 */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** 850 ms, 12.3 s, 4 min 5 s, 2 h 3 min */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function shortDate(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A run's elapsed time: finished runs their duration, running ones since they started. */
export function elapsedOf(run: { startedAt: string | null; finishedAt: string | null; durationSeconds: number | null }, now: number): number | null {
  if (run.durationSeconds !== null) return run.durationSeconds;
  if (!run.startedAt) return null;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  return Math.max(0, (end - Date.parse(run.startedAt)) / 1000);
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
  } catch {
    // Clipboard API refused (http, no permission): fall back to a hidden textarea.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    toast(ok ? 'Copied to the clipboard' : 'Copy failed: select the text and press Ctrl+C', ok ? 'ok' : 'error');
  }
}

// ---- profile icons -------------------------------------------------------------------------

const PROFILE_ICON: Record<string, { label: string; hue: number }> = {
  claude: { label: 'C', hue: 22 },
  'claude-code': { label: 'C', hue: 22 },
  openai: { label: 'Cx', hue: 160 },
  codex: { label: 'Cx', hue: 160 },
  opencode: { label: 'O', hue: 260 },
  gemini: { label: 'G', hue: 215 },
  'gemini-cli': { label: 'G', hue: 215 },
  aider: { label: 'A', hue: 120 },
  terminal: { label: '>_', hue: 200 },
  custom: { label: '>_', hue: 200 },
};

/** A small coloured monogram for a profile (by its icon name, else its agent type). */
export function ProfileIcon({ icon, agentType, size = 22 }: { icon?: string; agentType?: string; size?: number }) {
  const i = PROFILE_ICON[icon ?? ''] ?? PROFILE_ICON[agentType ?? ''] ?? { label: (icon || agentType || '?').slice(0, 1).toUpperCase(), hue: 0 };
  const style = `width:${size}px;height:${size}px;--hue:${i.hue}`;
  return (
    <span class="profile-icon" style={style} aria-hidden="true">
      {i.label}
    </span>
  );
}

/** A yes/no question in a modal; `danger` paints the confirm button red. */
export function Confirm({ title, children, confirmLabel, danger, onConfirm, onClose }: { title: string; children: ComponentChildren; confirmLabel: string; danger?: boolean; onConfirm: () => Promise<void> | void; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal
      title={title}
      onClose={onClose}
      testid="confirm-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            class={`btn ${danger ? 'btn-danger-solid' : 'btn-primary'}`}
            id="confirm-ok"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
                onClose();
              } catch (err) {
                setError(err);
                setBusy(false);
              }
            }}
          >
            {confirmLabel}
          </button>
        </>
      }
    >
      <div>{children}</div>
      <ErrorBanner error={error} />
    </Modal>
  );
}
