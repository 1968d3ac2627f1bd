/**
 * Analytics from `GET /api/stats`: totals, success rate per profile / prompt / schedule (split
 * bars: completed green, other endings red), average duration over time (line, with runs per
 * bucket behind it), most active directories, runs per agent type, schedule health, and token
 * usage and cost where the agents reported them. Period presets and a bucket size; the charts are
 * small SVG components (components/charts.tsx) coloured by the theme.
 *
 * Test hooks: `[data-testid=analytics]`, `#stats-range`, `#stats-bucket`, `[data-testid=kpi-runs]`,
 * `[data-testid=chart-profile|chart-prompt|chart-schedule|chart-duration|chart-dirs|chart-agent-type]`,
 * `#schedule-health`, `[data-testid=usage]`.
 */
import type { ComponentChildren } from 'preact';
import type { StatsGroup, StatsResponse } from '@rexec/shared';
import { useState } from 'preact/hooks';
import { getStats, routeExists } from '../api.js';
import { BarChart, Legend, LineChart, type BarDatum } from '../components/charts.js';
import { ErrorBanner, NotAvailable, PageHead, Spinner, StatusBadge, duration, useAsync } from '../components/ui.js';
import { href } from '../nav.js';

const RANGES = {
  '24h': { label: 'Last 24 hours', ms: 86_400_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'day' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
  '90d': { label: 'Last 90 days', ms: 90 * 86_400_000, bucket: 'week' },
} as const;
type RangeKey = keyof typeof RANGES;

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

function successBars(groups: StatsGroup[], link?: (g: StatsGroup) => string | undefined): BarDatum[] {
  return groups.map((g) => {
    const ended = g.completed + g.failed + g.timeout + g.killed + g.lost;
    return {
      label: g.name,
      value: g.completed,
      bad: ended - g.completed,
      note: `${pct(g.successRate)} of ${g.runs}`,
      title: `${g.name}: ${g.completed} completed, ${g.failed} failed, ${g.timeout} timed out, ${g.killed} killed, ${g.lost} lost; average ${duration(g.avgDurationSeconds)}`,
      href: link?.(g),
    };
  });
}

export function AnalyticsPage() {
  const avail = useAsync(() => routeExists('/api/stats?top=1'), []);
  const [range, setRange] = useState<RangeKey>('7d');
  const [bucket, setBucket] = useState<'hour' | 'day' | 'week'>(RANGES['7d'].bucket);
  const stats = useAsync(
    async (signal) => {
      if (!(await routeExists('/api/stats?top=1'))) return null;
      const to = new Date();
      const from = new Date(to.getTime() - RANGES[range].ms);
      return getStats({ from: from.toISOString(), to: to.toISOString(), bucket, top: 10 }, signal);
    },
    [range, bucket],
  );
  if (avail.data === false) {
    return (
      <div class="page">
        <PageHead title="Analytics" />
        <NotAvailable what="Analytics" api="/api/stats" />
      </div>
    );
  }
  const s = stats.data;
  return (
    <div class="page page-wide" data-testid="analytics">
      <PageHead title="Analytics" sub={s ? `${new Date(s.from).toLocaleDateString()} – ${new Date(s.to).toLocaleDateString()}` : undefined}>
        <label class="inline-field">
          <span class="muted small">Period</span>
          <select
            id="stats-range"
            value={range}
            onChange={(e) => {
              const r = (e.target as HTMLSelectElement).value as RangeKey;
              setRange(r);
              setBucket(RANGES[r].bucket);
            }}
          >
            {Object.entries(RANGES).map(([k, v]) => (
              <option value={k}>{v.label}</option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span class="muted small">per</span>
          <select id="stats-bucket" value={bucket} onChange={(e) => setBucket((e.target as HTMLSelectElement).value as 'hour' | 'day' | 'week')}>
            <option value="hour" disabled={range === '90d'}>
              hour
            </option>
            <option value="day">day</option>
            <option value="week">week</option>
          </select>
        </label>
      </PageHead>
      <ErrorBanner error={stats.error} onRetry={stats.reload} prefix="Could not load analytics" />
      {!s ? stats.error ? null : <Spinner /> : <Charts s={s} />}
    </div>
  );
}

function Charts({ s }: { s: StatsResponse }) {
  const t = s.totals;
  const ended = t.completed + t.failed + t.timeout + t.killed + t.lost;
  const u = s.usage;
  return (
    <>
      <div class="kpis">
        <div class="panel stat" data-testid="kpi-runs">
          <div class="label">Runs</div>
          <div class="value">{t.runs}</div>
          <div class="muted small">{t.runs - ended} still active</div>
        </div>
        <div class="panel stat">
          <div class="label">Success rate</div>
          <div class="value">{pct(t.successRate)}</div>
          <div class="muted small">
            {t.completed} of {ended} ended runs
          </div>
        </div>
        <div class="panel stat">
          <div class="label">Failed · timed out · killed</div>
          <div class="value value-sm">
            {t.failed} · {t.timeout} · {t.killed}
          </div>
          <div class="muted small">{t.lost} lost</div>
        </div>
        <div class="panel stat">
          <div class="label">Average duration</div>
          <div class="value value-sm">{duration(t.avgDurationSeconds)}</div>
        </div>
        <div class="panel stat" data-testid="usage">
          <div class="label">Tokens · cost</div>
          {u.runsWithUsage ? (
            <>
              <div class="value value-sm">{compact(u.totalTokens)}</div>
              <div class="muted small">
                {u.costUsd !== null ? `$${u.costUsd.toFixed(2)}` : 'cost not reported'} · {u.runsWithUsage} run{u.runsWithUsage === 1 ? '' : 's'} reported usage
              </div>
            </>
          ) : (
            <div class="muted small stat-note">No run reported token usage (shell runs do not; Claude Code, Codex and others do).</div>
          )}
        </div>
      </div>
      <div class="chart-grid">
        <Panel title="Duration over time" sub={`average per ${s.bucket}; grey columns: runs`}>
          <LineChart
            testid="chart-duration"
            title="Average run duration over time"
            bucket={s.bucket}
            format={(v) => duration(v)}
            data={s.durationOverTime.map((d) => ({ at: d.bucket, value: d.avgDurationSeconds, count: d.runs }))}
          />
        </Panel>
        <Panel title="Success rate by profile" legend>
          <BarChart testid="chart-profile" kind="split" title="Completed and other outcomes per profile" data={successBars(s.byProfile, (g) => (g.id ? href('/history', { profile: g.id }) : undefined))} />
        </Panel>
        <Panel title="Success rate by prompt" legend>
          <BarChart testid="chart-prompt" kind="split" title="Completed and other outcomes per saved prompt" data={successBars(s.byPrompt)} empty="No saved prompt ran in this period." />
        </Panel>
        <Panel title="Success rate by schedule" legend>
          <BarChart testid="chart-schedule" kind="split" title="Completed and other outcomes per schedule" data={successBars(s.bySchedule)} empty="No scheduled run in this period." />
        </Panel>
        <Panel title="Most active directories">
          <BarChart
            testid="chart-dirs"
            title="Runs per working directory"
            data={s.topDirectories.map((d) => ({ label: d.workingDirectory, path: true, value: d.runs, note: `${d.runs} · ${pct(d.successRate)}`, title: `${d.workingDirectory}: ${d.runs} runs, ${pct(d.successRate)} succeeded`, href: href('/history', { dir: d.workingDirectory }) }))}
          />
        </Panel>
        <Panel title="Runs per agent type" legend>
          <BarChart testid="chart-agent-type" kind="split" title="Runs per agent type" data={successBars(s.byAgentType)} />
        </Panel>
      </div>
      <section class="panel" id="schedule-health">
        <div class="panel-head">
          <h2>Schedule health</h2>
        </div>
        {s.scheduleHealth.length === 0 ? (
          <p class="panel-body muted">No schedules yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th>Schedule</th>
                  <th>Runs</th>
                  <th>Failure rate</th>
                  <th>Timeout rate</th>
                  <th>Fires</th>
                  <th>Skipped</th>
                  <th>Missed</th>
                  <th>Errors</th>
                  <th>Last run</th>
                </tr>
              </thead>
              <tbody>
                {s.scheduleHealth.map((h) => (
                  <tr data-schedule-name={h.name}>
                    <td>
                      <strong>{h.name}</strong> {h.enabled ? null : <span class="pill pill-off">paused</span>}
                    </td>
                    <td>{h.runs}</td>
                    <td class={h.failureRate ? 'text-danger' : ''}>{pct(h.failureRate)}</td>
                    <td class={h.timeoutRate ? 'text-danger' : ''}>{pct(h.timeoutRate)}</td>
                    <td>{h.fires}</td>
                    <td>{h.skipped}</td>
                    <td>{h.missed}</td>
                    <td class={h.errors ? 'text-danger' : ''}>{h.errors}</td>
                    <td>
                      <StatusBadge status={h.lastRunStatus} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {u.byAgentType.length ? (
        <section class="panel" style="margin-top:16px">
          <div class="panel-head">
            <h2>Token usage by agent type</h2>
          </div>
          <div class="panel-body">
            <BarChart
              title="Tokens per agent type"
              data={u.byAgentType.map((a) => ({ label: a.agentType, value: a.totalTokens, note: `${compact(a.totalTokens)}${a.costUsd !== null ? ` · $${a.costUsd.toFixed(2)}` : ''}`, title: `${a.agentType}: ${a.inputTokens} in, ${a.outputTokens} out, ${a.cacheReadTokens} cache read` }))}
            />
          </div>
        </section>
      ) : null}
    </>
  );
}

function Panel({ title, sub, legend, children }: { title: string; sub?: string; legend?: boolean; children: ComponentChildren }) {
  return (
    <section class="panel">
      <div class="panel-head">
        <h2>{title}</h2>
        {sub ? <span class="muted small">{sub}</span> : null}
      </div>
      <div class="panel-body">
        {children}
        {legend ? (
          <Legend
            items={[
              { label: 'completed', cls: 'bar-ok' },
              { label: 'failed, timed out, killed or lost', cls: 'bar-bad' },
            ]}
          />
        ) : null}
      </div>
    </section>
  );
}

function compact(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}
