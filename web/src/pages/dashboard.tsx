/**
 * Dashboard: agents online/offline, active runs (live), the last runs, recent failures, the next
 * scheduled run with a countdown (when the relay has schedules), and a quick run of the most used
 * saved prompt. Live: run, agent and schedule events refresh what they touch (no polling).
 *
 * Test hooks: `[data-testid=dashboard]`, `agents-online`, `agents-offline`, `active-runs`,
 * `last-runs`, `recent-failures`, `next-schedule`, `#quick-run`.
 */
import { useState } from 'preact/hooks';
import type { PromptView, RunView } from '@rexec/shared';
import { activeRuns, errorText, listPrompts, listRuns, startRun } from '../api.js';
import { ErrorBanner, Icon, PageHead, StatusBadge, clock, duration, elapsedOf, toast, useAsync, useNow } from '../components/ui.js';
import { RUN_EVENTS, SCHEDULE_EVENTS, useLiveRefresh } from '../components/live.js';
import { relativeTime } from '../dom.js';
import { useAgents } from '../data.js';
import { href, navigate } from '../nav.js';
import { countdown, cronInWords, listSchedules, schedulesAvailable } from '../schedules-api.js';

function RunRow({ r, now }: { r: RunView; now: number }) {
  const e = elapsedOf(r, now);
  return (
    <li data-run-id={r.id}>
      <StatusBadge status={r.status} compact />
      <a class="grow mono" href={`#/runs/${r.id}`} title={r.promptContent}>
        {r.promptContent.split('\n')[0] || '(empty)'}
      </a>
      <span class="muted small">{r.agentName ?? ''}</span>
      <span class="muted small num" title={r.createdAt}>
        {r.status === 'running' && e !== null ? clock(e) : r.status === 'queued' ? 'queued' : `${duration(e)} · ${relativeTime(r.createdAt, now)}`}
      </span>
    </li>
  );
}

export function DashboardPage(_props: { query?: URLSearchParams }) {
  const { agents, error: agentsError } = useAgents();
  const active = useAsync((s) => activeRuns(s), []);
  const last = useAsync((s) => listRuns({ limit: 8 }, s), []);
  const failures = useAsync((s) => listRuns({ limit: 5, status: 'failed,timeout,lost' }, s), []);
  const recent = useAsync((s) => listRuns({ limit: 200 }, s), []);
  const prompts = useAsync((s) => listPrompts({}, s), []);
  const sched = useAsync(async () => ((await schedulesAvailable()) ? listSchedules() : null), []);
  useLiveRefresh(RUN_EVENTS, () => {
    active.reload();
    last.reload();
    failures.reload();
    recent.reload();
  });
  useLiveRefresh(SCHEDULE_EVENTS, () => sched.reload());
  const now = useNow(1000);
  const [starting, setStarting] = useState(false);

  const online = agents?.filter((a) => a.status === 'online').length ?? 0;
  const offline = (agents?.length ?? 0) - online;

  // The most used saved prompt over the last 200 runs.
  const counts = new Map<string, number>();
  for (const r of recent.data?.items ?? []) if (r.promptId) counts.set(r.promptId, (counts.get(r.promptId) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const topPrompt: PromptView | undefined = top ? prompts.data?.items.find((p) => p.id === top[0]) : prompts.data?.items[0];
  const topRun = topPrompt ? recent.data?.items.find((r) => r.promptId === topPrompt.id) : undefined;

  const quickRun = async () => {
    if (!topPrompt) return;
    const agent = topRun?.agentId ?? agents?.find((a) => a.status === 'online')?.id;
    const profile = topPrompt.agentProfileId ?? topRun?.agentProfileId ?? undefined;
    if (!agent || !profile) {
      navigate(href('/run', { prompt: topPrompt.id }));
      return;
    }
    setStarting(true);
    try {
      const r = await startRun({ promptId: topPrompt.id, agent, profile });
      toast(`Started "${topPrompt.name}"`);
      navigate(`/runs/${r.id}`);
    } catch (err) {
      toast(`Could not start "${topPrompt.name}": ${errorText(err)}`, 'error');
      setStarting(false);
    }
  };

  const next = sched.data
    ?.filter((s) => s.enabled && s.nextRunTime)
    .sort((a, b) => Date.parse(a.nextRunTime!) - Date.parse(b.nextRunTime!))[0];

  return (
    <div class="page page-wide" data-testid="dashboard">
      <PageHead title="Dashboard">
        {topPrompt ? (
          <button type="button" class="btn btn-primary" id="quick-run" disabled={starting} onClick={() => void quickRun()} title={topPrompt.content}>
            <Icon name="zap" size={14} /> Run “{topPrompt.name}”
          </button>
        ) : (
          <a class="btn btn-primary" href="#/run">
            <Icon name="run" size={14} /> New run
          </a>
        )}
      </PageHead>
      <ErrorBanner error={agentsError || active.error || last.error} prefix="Could not load" />
      <div class="stat-row">
        <a class="panel stat stat-link" href="#/agents">
          <div class="label">Agents online</div>
          <div class="value" data-testid="agents-online">
            {agents ? online : '…'}
            <small> / {agents?.length ?? '…'}</small>
          </div>
          <div class="muted small" data-testid="agents-offline">
            {offline} offline
          </div>
        </a>
        <div class="panel stat">
          <div class="label">Active runs</div>
          <div class="value" data-testid="active-count">
            {active.data?.length ?? '…'}
          </div>
          <div class="muted small">{active.data?.filter((r) => r.status === 'queued').length ?? 0} queued</div>
        </div>
        <div class="panel stat">
          <div class="label">Success, last 200 runs</div>
          <div class="value">{successRate(recent.data?.items)}</div>
          <div class="muted small">{recent.data?.total ?? 0} runs in total</div>
        </div>
        <a class="panel stat stat-link" href="#/schedules" data-testid="next-schedule">
          <div class="label">Next scheduled run</div>
          {sched.data === null ? (
            <div class="muted small stat-note">Schedules are not available on this relay yet.</div>
          ) : next ? (
            <>
              <div class="value value-sm">{countdown(next.nextRunTime, now)}</div>
              <div class="muted small clip-1">
                {next.name} · {cronInWords(next.cronExpression)}
              </div>
            </>
          ) : (
            <div class="muted small stat-note">{sched.data ? 'No enabled schedule.' : '…'}</div>
          )}
        </a>
      </div>
      <div class="grid grid-2">
        <section class="panel">
          <div class="panel-head">
            <h2>Active runs</h2>
            <div class="spacer" />
            <a href="#/run" class="small">
              New run
            </a>
          </div>
          <ul class="list-plain" data-testid="active-runs">
            {active.data?.length ? active.data.map((r) => <RunRow r={r} now={now} />) : <li class="list-empty">Nothing running right now.</li>}
          </ul>
        </section>
        <section class="panel">
          <div class="panel-head">
            <h2>Recent failures</h2>
            <div class="spacer" />
            <a href={href('/history', { status: 'failed,timeout,lost' })} class="small">
              All failures
            </a>
          </div>
          <ul class="list-plain" data-testid="recent-failures">
            {failures.data?.items.length ? failures.data.items.map((r) => <RunRow r={r} now={now} />) : <li class="list-empty">No failed runs. </li>}
          </ul>
        </section>
        <section class="panel">
          <div class="panel-head">
            <h2>Last runs</h2>
            <div class="spacer" />
            <a href="#/history" class="small">
              History
            </a>
          </div>
          <ul class="list-plain" data-testid="last-runs">
            {last.data?.items.length ? last.data.items.map((r) => <RunRow r={r} now={now} />) : <li class="list-empty">No runs yet. Start one from the Run page.</li>}
          </ul>
        </section>
        <section class="panel">
          <div class="panel-head">
            <h2>Agents</h2>
            <div class="spacer" />
            <a href="#/agents" class="small">
              All agents
            </a>
          </div>
          <ul class="list-plain">
            {agents?.length ? (
              agents.slice(0, 8).map((a) => (
                <li>
                  <span class={`badge ${a.status === 'online' ? 'badge-online' : 'badge-offline'}`}>{a.status}</span>
                  <a class="grow" href={`#/agents/${a.id}`}>
                    {a.name}
                  </a>
                  <span class="muted small" title={`${a.os} ${a.arch}`}>
                    {a.os.split(' ')[0]}/{a.arch}
                  </span>
                  {a.status === 'online' ? null : <span class="muted small">seen {relativeTime(a.lastSeenAt, now)}</span>}
                </li>
              ))
            ) : (
              <li class="list-empty">
                No agents yet. <a href="#/agents/new">Add one</a>.
              </li>
            )}
          </ul>
        </section>
      </div>
    </div>
  );
}

function successRate(runs: RunView[] | undefined): string {
  const ended = (runs ?? []).filter((r) => r.status !== 'queued' && r.status !== 'running');
  if (!ended.length) return '—';
  return `${Math.round((ended.filter((r) => r.status === 'completed').length / ended.length) * 100)}%`;
}
