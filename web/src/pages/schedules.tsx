/**
 * Schedules: name, prompt, cron in words, target, enabled toggle, next run countdown, last
 * status. Lights up when the relay has the schedules API; until then says so (no data is made up).
 *
 * Test hooks: `[data-testid=not-available]`, `#schedules-table`, `tr[data-schedule-name]`.
 */
import { useState } from 'preact/hooks';
import { errorText } from '../api.js';
import { Empty, ErrorBanner, NotAvailable, PageHead, Spinner, StatusBadge, toast, useAsync, useNow, usePoll } from '../components/ui.js';
import { countdown, cronInWords, listSchedules, schedulesAvailable, setScheduleEnabled } from '../schedules-api.js';

export function SchedulesPage() {
  const avail = useAsync(() => schedulesAvailable(), []);
  const data = useAsync(async () => ((await schedulesAvailable()) ? listSchedules() : null), []);
  usePoll(() => avail.data && data.reload(), 15_000, [avail.data]);
  const now = useNow(1000);
  const [busy, setBusy] = useState('');
  if (avail.loading && avail.data === undefined) return <div class="page"><PageHead title="Schedules" /><Spinner /></div>;
  if (avail.data === false) {
    return (
      <div class="page">
        <PageHead title="Schedules" />
        <NotAvailable what="Schedules" api="/api/schedules" />
      </div>
    );
  }
  const items = data.data ?? [];
  return (
    <div class="page page-wide">
      <PageHead title="Schedules" sub={data.data ? `${items.length} schedule${items.length === 1 ? '' : 's'}` : undefined} />
      <ErrorBanner error={data.error || avail.error} onRetry={data.reload} prefix="Could not load schedules" />
      {!data.data ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty title="No schedules yet" testid="schedules-empty">
          Schedule a saved prompt with <code>rexec schedules create</code> or the API; it shows up here with its next run.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" id="schedules-table">
            <thead>
              <tr>
                <th>Enabled</th>
                <th>Name</th>
                <th>Prompt</th>
                <th>When</th>
                <th>Target</th>
                <th>Next run</th>
                <th>Last run</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr data-schedule-name={s.name}>
                  <td>
                    <label class="switch" title={s.enabled ? 'Disable' : 'Enable'}>
                      <input
                        type="checkbox"
                        checked={s.enabled}
                        disabled={busy === s.id}
                        aria-label={`${s.name} enabled`}
                        onChange={async (e) => {
                          setBusy(s.id);
                          try {
                            await setScheduleEnabled(s.id, (e.target as HTMLInputElement).checked);
                            data.reload();
                          } catch (err) {
                            toast(`Could not change "${s.name}": ${errorText(err)}`, 'error');
                          } finally {
                            setBusy('');
                          }
                        }}
                      />
                    </label>
                  </td>
                  <td>
                    <strong>{s.name}</strong>
                  </td>
                  <td>{s.promptName ?? '—'}</td>
                  <td title={`${s.cronExpression} (${s.timezone})`}>
                    {cronInWords(s.cronExpression)} <span class="muted small">{s.timezone}</span>
                  </td>
                  <td>{s.agentName ?? (s.agentTag ? `tag ${s.agentTag}` : '—')}</td>
                  <td title={s.nextRunTime ? new Date(s.nextRunTime).toLocaleString() : undefined}>{s.enabled ? countdown(s.nextRunTime, now) : <span class="muted">paused</span>}</td>
                  <td>
                    <StatusBadge status={s.lastRunStatus} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
