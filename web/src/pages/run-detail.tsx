/**
 * One run: what ran (prompt, command, profile, agent, directory), how it went (status, exit code,
 * signal, duration, resources), and its output in the viewer (live while it runs). Kill while
 * active; Run again opens the Run page with the same settings.
 *
 * Test hooks: `#run-detail` (data-status), `#run-kill`, `#run-again`.
 */
import { useState } from 'preact/hooks';
import { errorText, killRun } from '../api.js';
import { OutputViewer } from '../components/output-viewer.js';
import { ErrorBanner, Icon, PageHead, Spinner, StatusBadge, bytes, clock, duration, elapsedOf, isActiveStatus, toast, useNow } from '../components/ui.js';
import { href } from '../nav.js';
import { useRunOutput } from '../run-output.js';

export function RunDetailPage({ runId }: { runId: string }) {
  const out = useRunOutput(runId);
  const now = useNow(500);
  const [killing, setKilling] = useState(false);
  const r = out.run;
  if (!r) {
    return (
      <div class="page">
        <PageHead title="Run" />
        {out.error ? <ErrorBanner error={out.error} prefix="Could not load the run" /> : <Spinner />}
        <a href="#/history">← History</a>
      </div>
    );
  }
  const active = isActiveStatus(r.status);
  const elapsed = elapsedOf(r, now);
  const kill = async () => {
    setKilling(true);
    try {
      await killRun(r.id);
      toast('Kill sent');
    } catch (err) {
      toast(`Could not kill the run: ${errorText(err)}`, 'error');
    } finally {
      setKilling(false);
    }
  };
  const again = r.promptId
    ? href('/run', { prompt: r.promptId, agent: r.agentId, dir: r.workingDirectory })
    : href('/run', { agent: r.agentId, profile: r.agentProfileId ?? undefined, dir: r.workingDirectory });
  const usage = r.resourceUsage;
  return (
    <div class="page page-wide run-detail" id="run-detail" data-status={r.status}>
      <div class="crumbs">
        <a href="#/history">History</a> / <span class="mono">{r.id}</span>
      </div>
      <PageHead title={`Run on ${r.agentName ?? r.agentId}`} sub={<StatusBadge status={r.status} />}>
        {active ? (
          <button type="button" class="btn btn-danger" id="run-kill" disabled={killing} onClick={() => void kill()}>
            <Icon name="stop" size={12} /> Kill
          </button>
        ) : null}
        <a class="btn" id="run-again" href={again}>
          <Icon name="run" size={14} /> Run again
        </a>
      </PageHead>
      {r.statusReason ? <p class="banner banner-warn">{r.statusReason}</p> : null}
      <div class="detail-grid">
        <div class="panel">
          <div class="panel-body">
            <dl class="kv">
              <dt>Profile</dt>
              <dd>{r.profileName ?? '—'}</dd>
              <dt>Agent</dt>
              <dd>
                <a href={`#/agents/${r.agentId}`}>{r.agentName ?? r.agentId}</a>
              </dd>
              <dt>Directory</dt>
              <dd class="mono">{r.workingDirectory || "agent's default"}</dd>
              <dt>Trigger</dt>
              <dd>
                {r.triggeredBy} by {r.requestedBy}
              </dd>
              <dt>Started</dt>
              <dd>{r.startedAt ? new Date(r.startedAt).toLocaleString() : `queued ${new Date(r.createdAt).toLocaleString()}`}</dd>
              <dt>Duration</dt>
              <dd data-testid="run-duration">{active ? (elapsed === null ? 'waiting' : clock(elapsed)) : duration(elapsed)}</dd>
              <dt>Exit</dt>
              <dd>
                {r.exitCode ?? '—'}
                {r.signal ? ` (signal ${r.signal})` : ''}
              </dd>
              <dt>Timeout</dt>
              <dd>{r.timeoutMinutes} min</dd>
              {usage ? (
                <>
                  <dt>Resources</dt>
                  <dd>
                    peak {bytes(usage.peakRssBytes)} · CPU {duration((usage.cpuUserMs + usage.cpuSystemMs) / 1000)}
                  </dd>
                </>
              ) : null}
              <dt>Output</dt>
              <dd>
                {bytes(r.outputBytes)}
                {r.truncated ? ' (truncated at the cap)' : ''}
              </dd>
            </dl>
          </div>
        </div>
        <div class="panel">
          <div class="panel-body">
            <h3 class="sub">Prompt</h3>
            <pre class="code-block prompt-text">{r.promptContent}</pre>
            <h3 class="sub">Command</h3>
            <pre class="code-block" data-testid="run-command">{r.command}</pre>
          </div>
        </div>
      </div>
      <div class="detail-viewer">
        <OutputViewer
          runId={r.id}
          raw={out.raw}
          version={out.version}
          marks={out.marks}
          live={active}
          head={
            <>
              <StatusBadge status={r.status} />
              <span class="elapsed mono">{elapsed === null ? '—' : clock(elapsed)}</span>
              {out.follow === 'reconnecting' ? <span class="badge-plain">reconnecting…</span> : null}
            </>
          }
        />
      </div>
    </div>
  );
}
