/**
 * History: every run, filtered (text, status, trigger, agent, profile, directory, date range),
 * sorted, paginated, exported as JSON. Filters live in the URL (`#/history?status=failed&page=2`)
 * so a view can be bookmarked or shared; the table follows run events live.
 *
 * Test hooks: `#history-table`, `tr[data-run-id]`, `#history-q`, `#filter-status`,
 * `#filter-trigger`, `#filter-agent`, `#filter-profile`, `#filter-dir`, `#filter-from`,
 * `#filter-to`, `#history-export`, `[data-testid=pager]`, `[data-sort=FIELD]`.
 */
import { useEffect, useState } from 'preact/hooks';
import { RUN_STATUSES, type RunListQuery } from '@rexec/shared';
import { errorText, exportRuns, listRuns, saveBlob } from '../api.js';
import { Empty, ErrorBanner, FilterSelect, Icon, PageHead, Spinner, StatusBadge, duration, elapsedOf, shortDate, toast, useAsync, useNow } from '../components/ui.js';
import { RUN_EVENTS, useLiveRefresh } from '../components/live.js';
import { useAgents, useProfiles } from '../data.js';
import { href, navigate } from '../nav.js';

const PAGE_SIZE = 25;
type SortField = 'createdAt' | 'startedAt' | 'durationSeconds' | 'status' | 'exitCode';

function toIso(date: string, endOfDay: boolean): string | undefined {
  if (!date) return undefined;
  const d = new Date(`${date}T00:00:00`);
  if (Number.isNaN(d.getTime())) return undefined;
  if (endOfDay) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export function HistoryPage({ query }: { query: URLSearchParams }) {
  const get = (k: string) => query.get(k) ?? '';
  const page = Math.max(1, Number(get('page')) || 1);
  const sort = (get('sort') || 'createdAt') as SortField;
  const order = get('order') === 'asc' ? 'asc' : 'desc';
  const [text, setText] = useState(get('q'));
  const [dirText, setDirText] = useState(get('dir'));
  const { agents } = useAgents();
  const { profiles } = useProfiles();
  const now = useNow(1000);

  const q: RunListQuery = {
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
    sort,
    order,
    ...(get('q') ? { q: get('q') } : {}),
    ...(get('status') ? { status: get('status') } : {}),
    ...(get('trigger') === 'manual' || get('trigger') === 'schedule' ? { trigger: get('trigger') as 'manual' | 'schedule' } : {}),
    ...(get('agent') ? { agent: get('agent') } : {}),
    ...(get('profile') ? { profile: get('profile') } : {}),
    ...(get('dir') ? { directory: get('dir') } : {}),
    ...(toIso(get('from'), false) ? { from: toIso(get('from'), false) } : {}),
    ...(toIso(get('to'), true) ? { to: toIso(get('to'), true) } : {}),
  };
  const key = query.toString();
  const data = useAsync((signal) => listRuns(q, signal), [key]);
  // Live: a run created, started or ended refreshes the page of results (debounced).
  useLiveRefresh(RUN_EVENTS, () => data.reload());

  const set = (patch: Record<string, string | undefined>, keepPage = false) => {
    const next: Record<string, string | undefined> = {};
    query.forEach((v, k) => (next[k] = v));
    Object.assign(next, patch);
    if (!keepPage) delete next.page;
    navigate(href('/history', next), { replace: true });
  };

  // Free-text filters apply after a short pause in typing.
  useEffect(() => {
    const t = window.setTimeout(() => {
      if (text !== get('q')) set({ q: text || undefined });
    }, 300);
    return () => window.clearTimeout(t);
  }, [text]);
  useEffect(() => {
    const t = window.setTimeout(() => {
      if (dirText !== get('dir')) set({ dir: dirText || undefined });
    }, 400);
    return () => window.clearTimeout(t);
  }, [dirText]);

  const sortBy = (f: SortField) => set({ sort: f, order: sort === f && order === 'desc' ? 'asc' : 'desc' });
  const th = (f: SortField, label: string) => (
    <th>
      <button type="button" class="th-sort" data-sort={f} aria-sort={sort === f ? (order === 'asc' ? 'ascending' : 'descending') : undefined} onClick={() => sortBy(f)}>
        {label}
      </button>
    </th>
  );

  const doExport = async () => {
    try {
      const { blob, filename } = await exportRuns(q);
      saveBlob(blob, filename ?? 'rexec-runs.json');
      toast('Export downloaded');
    } catch (err) {
      toast(`Export failed: ${errorText(err)}`, 'error');
    }
  };

  const filtered = ['q', 'status', 'trigger', 'agent', 'profile', 'dir', 'from', 'to'].some((k) => get(k));
  const total = data.data?.total ?? 0;
  const from = total ? (page - 1) * PAGE_SIZE + 1 : 0;
  const to = Math.min(total, page * PAGE_SIZE);

  return (
    <div class="page page-wide">
      <PageHead title="History" sub={data.data ? `${total} run${total === 1 ? '' : 's'}${filtered ? ' match' : ''}` : undefined}>
        <button type="button" class="btn" id="history-export" onClick={() => void doExport()} title="All matching runs with their output, as JSON">
          <Icon name="download" size={14} /> Export JSON
        </button>
      </PageHead>
      <div class="filters" role="search">
        <label class="f">
          Search prompts
          <input id="history-q" type="search" value={text} placeholder="text in the prompt" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <FilterSelect label="Status" id="filter-status" value={get('status')} onChange={(v) => set({ status: v || undefined })} options={[...RUN_STATUSES.map((x) => [x, x] as const), ['failed,timeout,lost', 'any failure']]} />
        <FilterSelect label="Trigger" id="filter-trigger" value={get('trigger')} onChange={(v) => set({ trigger: v || undefined })} options={[['manual', 'manual'], ['schedule', 'schedule']]} />
        <FilterSelect label="Agent" id="filter-agent" value={get('agent')} onChange={(v) => set({ agent: v || undefined })} options={(agents ?? []).map((a) => [a.id, a.name] as const)} />
        <FilterSelect label="Profile" id="filter-profile" value={get('profile')} onChange={(v) => set({ profile: v || undefined })} options={(profiles ?? []).map((p) => [p.id, p.name] as const)} />
        <label class="f">
          Directory
          <input id="filter-dir" type="text" class="mono-input" value={dirText} placeholder="/srv/…" onInput={(e) => setDirText((e.target as HTMLInputElement).value)} />
        </label>
        <label class="f">
          From
          <input id="filter-from" type="date" value={get('from')} onChange={(e) => set({ from: (e.target as HTMLInputElement).value || undefined })} />
        </label>
        <label class="f">
          To
          <input id="filter-to" type="date" value={get('to')} onChange={(e) => set({ to: (e.target as HTMLInputElement).value || undefined })} />
        </label>
        {filtered ? (
          <button
            type="button"
            class="btn btn-small"
            onClick={() => {
              setText('');
              setDirText('');
              navigate('#/history', { replace: true });
            }}
          >
            Clear filters
          </button>
        ) : null}
      </div>
      <ErrorBanner error={data.error} onRetry={data.reload} prefix="Could not load the history" />
      {!data.data ? (
        data.error ? null : <Spinner />
      ) : data.data.items.length === 0 ? (
        filtered ? (
          <Empty title="No run matches these filters" testid="history-empty">
            Loosen or clear the filters.
          </Empty>
        ) : (
          <Empty title="No runs yet" testid="history-empty" action={<a class="btn btn-primary" href="#/run">Start a run</a>}>
            Every run, manual or scheduled, is recorded here with its output.
          </Empty>
        )
      ) : (
        <>
          <div class="table-wrap">
            <table class="table" id="history-table">
              <thead>
                <tr>
                  {th('status', 'Status')}
                  <th>Trigger</th>
                  <th>Prompt</th>
                  <th>Profile</th>
                  <th>Agent</th>
                  <th>Directory</th>
                  {th('createdAt', 'Started')}
                  {th('durationSeconds', 'Duration')}
                  {th('exitCode', 'Exit')}
                </tr>
              </thead>
              <tbody>
                {data.data.items.map((r) => (
                  <tr class="clickable" data-run-id={r.id} data-status={r.status} onClick={() => navigate(`/runs/${r.id}`)}>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td>
                      <span class="badge-plain">{r.triggeredBy}</span>
                    </td>
                    <td class="wrap">
                      <a class="clip mono" href={`#/runs/${r.id}`} title={r.promptContent} onClick={(e) => e.stopPropagation()}>
                        {r.promptContent.split('\n')[0] || '(empty)'}
                      </a>
                    </td>
                    <td>{r.profileName ?? '—'}</td>
                    <td>{r.agentName ?? r.agentId}</td>
                    <td>
                      <span class="clip mono" title={r.workingDirectory}>
                        {r.workingDirectory || '—'}
                      </span>
                    </td>
                    <td title={new Date(r.createdAt).toLocaleString()}>{shortDate(r.startedAt ?? r.createdAt)}</td>
                    <td class="num">{duration(elapsedOf(r, now))}</td>
                    <td class="num">{r.exitCode ?? (r.signal ? r.signal : '—')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="pager" data-testid="pager">
            <span>
              {from}–{to} of {total}
            </span>
            <div class="spacer" />
            <button type="button" class="btn btn-small" disabled={page <= 1} onClick={() => set({ page: String(page - 1) }, true)}>
              ← Newer
            </button>
            <span>Page {page}</span>
            <button type="button" class="btn btn-small" disabled={to >= total} data-testid="next-page" onClick={() => set({ page: String(page + 1) }, true)}>
              Older →
            </button>
          </div>
        </>
      )}
    </div>
  );
}
