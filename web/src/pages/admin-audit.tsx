/**
 * Admin -> Audit log: newest first, filters (action or an action prefix such as "auth.", actor,
 * target, dates), pagination, an authenticated JSON export of the filtered entries, and "Verify
 * chain" (the relay re-checks every entry's hash link) with its answer shown plainly.
 *
 * Test hooks: `#audit-table`, `tr[data-action-name]`, `#audit-action`, `#audit-actor`,
 * `#audit-target`, `#audit-from`, `#audit-to`, `#audit-refresh`, `#audit-export`, `#audit-verify`,
 * `[data-testid=audit-verify-result]` (with `data-ok`), `[data-testid=audit-pager]`.
 */
import type { AuditEventView } from '@rexec/shared';
import { useEffect, useState } from 'preact/hooks';
import { exportAudit, listAudit, saveBlob, verifyAudit, type AuditQuery } from '../api.js';
import { ErrorBanner, Icon, Spinner, shortDate, toast, useAsync } from '../components/ui.js';
import { errorText } from '../api.js';

const PAGE = 25;
const ACTIONS = ['', 'auth.', 'user.', 'token.', 'agent.', 'enrollment.', 'run.', 'profile.', 'prompt.', 'schedule.', 'webhook.', 'settings.'];

/** A date input's value (local day) as an ISO instant: the start of the day, or its end. */
function dayIso(v: string, end: boolean): string | undefined {
  if (!v) return undefined;
  const d = new Date(`${v}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export function AuditSection() {
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [target, setTarget] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [offset, setOffset] = useState(0);
  const [debounced, setDebounced] = useState({ actor: '', target: '', action: '' });
  useEffect(() => {
    const id = setTimeout(() => setDebounced({ actor: actor.trim(), target: target.trim(), action: action.trim() }), 300);
    return () => clearTimeout(id);
  }, [actor, target, action]);
  const q: AuditQuery = { ...debounced, from: dayIso(from, false), to: dayIso(to, true) };
  const key = JSON.stringify(q);
  useEffect(() => setOffset(0), [key]);
  const data = useAsync((s) => listAudit({ ...q, limit: PAGE, offset }, s), [key, offset]);
  const [verify, setVerify] = useState<{ ok: boolean; entries: number; brokenAt?: number; problem?: string } | null>(null);
  const [verifyError, setVerifyError] = useState<unknown>(null);
  const [verifying, setVerifying] = useState(false);
  const [open, setOpen] = useState<number | null>(null);

  const total = data.data?.total ?? 0;
  return (
    <section class="section" data-section="audit">
      <div class="section-head">
        <h2>Audit log</h2>
        <p class="muted">Every sign-in, change and run start, newest first. Each entry is hash-linked to the one before it.</p>
        <div class="spacer" />
        <button type="button" class="btn" id="audit-refresh" title="Load the newest entries" onClick={() => (offset === 0 ? data.reload() : setOffset(0))}>
          <Icon name="refresh" size={14} /> Refresh
        </button>
        <button
          type="button"
          class="btn"
          id="audit-export"
          onClick={async () => {
            try {
              const r = await exportAudit(q);
              saveBlob(r.blob, r.filename ?? 'rexec-audit.json');
            } catch (err) {
              toast(`Export failed: ${errorText(err)}`, 'error');
            }
          }}
        >
          <Icon name="download" size={14} /> Export JSON
        </button>
        <button
          type="button"
          class="btn"
          id="audit-verify"
          disabled={verifying}
          onClick={async () => {
            setVerifying(true);
            setVerifyError(null);
            try {
              setVerify(await verifyAudit());
            } catch (err) {
              setVerifyError(err);
            } finally {
              setVerifying(false);
            }
          }}
        >
          <Icon name="check" size={14} /> {verifying ? 'Verifying…' : 'Verify chain'}
        </button>
      </div>
      {verify ? (
        <p class={`banner ${verify.ok ? 'banner-ok' : 'banner-error'}`} role="status" data-testid="audit-verify-result" data-ok={String(verify.ok)}>
          <span>
            {verify.ok ? (
              <>
                <strong>Chain intact.</strong> All {verify.entries} entries check out: none was changed, removed or inserted.
              </>
            ) : (
              <>
                <strong>Chain broken{verify.brokenAt !== undefined ? ` at entry #${verify.brokenAt}` : ''}.</strong> {verify.problem ?? 'An entry does not match its hash.'} ({verify.entries} entries checked.)
              </>
            )}
          </span>
          <button type="button" class="btn btn-small" onClick={() => setVerify(null)}>
            Dismiss
          </button>
        </p>
      ) : null}
      <ErrorBanner error={verifyError} prefix="Could not verify" />
      <div class="filters" role="search">
        <label class="f">
          Action
          <input id="audit-action" type="text" list="audit-actions" value={action} placeholder="auth. or user.create" onInput={(e) => setAction((e.target as HTMLInputElement).value)} />
          <datalist id="audit-actions">
            {ACTIONS.filter(Boolean).map((a) => (
              <option value={a} />
            ))}
          </datalist>
        </label>
        <label class="f">
          Actor
          <input id="audit-actor" type="search" value={actor} placeholder="user:admin" onInput={(e) => setActor((e.target as HTMLInputElement).value)} />
        </label>
        <label class="f">
          Target
          <input id="audit-target" type="search" value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
        </label>
        <label class="f">
          From
          <input id="audit-from" type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label class="f">
          To
          <input id="audit-to" type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <ErrorBanner error={data.error} onRetry={data.reload} prefix="Could not load the audit log" />
      {!data.data ? (
        data.error ? null : <Spinner />
      ) : data.data.items.length === 0 ? (
        <p class="list-empty muted" data-testid="audit-empty">
          No entries match these filters.
        </p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="table" id="audit-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>When</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Target</th>
                  <th>IP</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {data.data.items.flatMap((e) => auditRows({ e, open: open === e.seq, onToggle: () => setOpen(open === e.seq ? null : e.seq), onActor: setActor, onAction: setAction }))}
              </tbody>
            </table>
          </div>
          <div class="pager" data-testid="audit-pager">
            <span>
              {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
            </span>
            <div class="spacer" />
            <button type="button" class="btn btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ← Newer
            </button>
            <button type="button" class="btn btn-small" disabled={offset + PAGE >= total} data-testid="audit-next" onClick={() => setOffset(offset + PAGE)}>
              Older →
            </button>
          </div>
        </>
      )}
    </section>
  );
}

/** One entry's row and, when opened, its details row: flat keyed <tr>s (keyed fragments can land out of order when newer entries are prepended). */
function auditRows({ e, open, onToggle, onActor, onAction }: { e: AuditEventView; open: boolean; onToggle: () => void; onActor: (v: string) => void; onAction: (v: string) => void }) {
  const empty = e.details === null || e.details === undefined || (typeof e.details === 'object' && Object.keys(e.details as object).length === 0);
  const details = empty ? '' : JSON.stringify(e.details);
  const failed = /fail|denied|locked|refused/i.test(e.action);
  return [
      <tr key={e.seq} data-action-name={e.action}>
        <td class="mono muted">{e.seq}</td>
        <td title={new Date(e.at).toLocaleString()}>{shortDate(e.at)}</td>
        <td>
          <button type="button" class="link-button" title="Only this actor" onClick={() => onActor(e.actor)}>
            {e.actor}
          </button>
        </td>
        <td>
          <button type="button" class={`link-button mono ${failed ? 'text-danger' : ''}`} title="Only this action" onClick={() => onAction(e.action)}>
            {e.action}
          </button>
        </td>
        <td class="cell-clip" title={e.target}>
          {e.target}
        </td>
        <td class="mono small">{e.ip ?? '—'}</td>
        <td class="cell-clip">
          {details ? (
            <button type="button" class="link-button mono small" aria-expanded={open} onClick={onToggle} title="Show all details">
              {details.length > 40 ? `${details.slice(0, 40)}…` : details}
            </button>
          ) : (
            <span class="muted">—</span>
          )}
        </td>
      </tr>,
      open ? (
        <tr key={`${e.seq}-d`} class="row-detail">
          <td colSpan={7}>
            <pre class="code-block">{JSON.stringify(e.details, null, 2)}</pre>
            <div class="muted small mono">hash {e.hash}</div>
          </td>
        </tr>
      ) : null,
  ];
}
