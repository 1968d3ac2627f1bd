/**
 * One agent (`#/agents/{id}`): facts, live host metrics with sparklines, open terminal sessions
 * and who is attached, actions (open a terminal, run here; admins: rename and re-tag in place,
 * rotate or revoke the credential, delete). Everything follows the event stream. `#/agents/new` is "Add agent": a
 * single-use enrollment token (`rxe_…`, expiring in minutes) and the relay's ready-to-paste
 * install and register commands.
 *
 * Test hooks: `#agent-detail`, `#agent-sessions`, `#agent-delete`, `#agent-rotate`, `#agent-revoke`,
 * `#agent-edit`, `#agent-edit-name`, `#agent-edit-tags`, `#agent-edit-save`, `#agent-metrics`
 * (`data-samples`), `[data-testid=metric-cpu|metric-memory|metric-disk|metric-load|metric-net]`,
 * `#add-agent`, `#add-agent-tags`, `#add-agent-minutes`, `#create-enrollment`, `#install-command`,
 * `#register-command`, `[data-testid=enrollment-note]`.
 */
import type { AgentView, EnrollmentResponse, HostMetrics } from '@rexec/shared';
import { useEffect, useState } from 'preact/hooks';
import { agentMetrics, createEnrollmentToken, deleteAgent, errorText, getAgent, listSessions, revokeAgentCredential, rotateAgentCredential, splitTags, updateAgent } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, PageHead, Spinner, copyText, shortDate, toast, useAsync, useNow } from '../components/ui.js';
import { useLiveEvents, useLiveRefresh } from '../components/live.js';
import { Sparkline } from '../components/charts.js';
import { getSession } from '../session.js';
import { countdown } from '../schedules-api.js';
import { relativeTime } from '../dom.js';
import { href, navigate, terminalRoute } from '../nav.js';

export function AgentDetailPage({ agentId }: { agentId: string }) {
  if (agentId === 'new') return <AddAgent />;
  return <AgentDetail agentId={agentId} />;
}

function AgentDetail({ agentId }: { agentId: string }) {
  const agent = useAsync((s) => getAgent(agentId, s), [agentId]);
  const sessions = useAsync((s) => listSessions(agentId, s), [agentId]);
  const [live, setLive] = useState<AgentView | null>(null);
  const [gone, setGone] = useState(false);
  const isAdmin = getSession()?.user.role === 'admin';
  const id = agent.data?.id ?? agentId;
  // Live: presence and renames patch the page; terminal connections refresh the sessions list.
  useLiveEvents(['agent.online', 'agent.offline', 'agent.updated', 'agent.deleted'], (e) => {
    if (e.type === 'agent.deleted') return e.agentId === id && setGone(true);
    if ('agent' in e && e.agent.id === id) setLive(e.agent);
  }, agent.reload);
  useLiveRefresh(['terminal.opened', 'terminal.ended'], sessions.reload, (e) => 'agentId' in e && e.agentId === id);
  useLiveRefresh([], agent.reload);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | 'revoke' | null>(null);
  const [credential, setCredential] = useState<string | null>(null);
  const fetched = agent.data;
  const a = live && fetched && live.id === fetched.id ? live : fetched;
  if (!a) {
    return (
      <div class="page">
        <PageHead title="Agent" />
        {agent.error ? <ErrorBanner error={agent.error} prefix="Could not load the agent" /> : <Spinner />}
      </div>
    );
  }
  const online = a.status === 'online';
  return (
    <div class="page page-wide" id="agent-detail" data-status={a.status}>
      <div class="crumbs">
        <a href="#/agents">Agents</a> / {a.name}
      </div>
      <PageHead title={a.name} sub={<span class={`badge ${online ? 'badge-online' : 'badge-offline'}`} data-testid="agent-status">{a.status}</span>}>
        {online ? (
          <a class="btn btn-primary" href={`#${terminalRoute(a.id)}`} data-action="open-terminal">
            <Icon name="terminal" size={14} /> Open terminal
          </a>
        ) : null}
        <a class="btn" href={href('/run', { agent: a.id })}>
          <Icon name="run" size={14} /> Run here
        </a>
        {isAdmin ? (
          <>
            <button type="button" class="btn" id="agent-rotate" onClick={() => setConfirm('rotate')}>
              Rotate credential
            </button>
            <button type="button" class="btn btn-danger" id="agent-revoke" onClick={() => setConfirm('revoke')}>
              Revoke
            </button>
            <button type="button" class="btn btn-danger" id="agent-delete" onClick={() => setConfirm('delete')}>
              <Icon name="trash" size={14} /> Delete
            </button>
          </>
        ) : null}
      </PageHead>
      {gone ? <p class="banner banner-warn" role="alert">This agent was deleted. <a href="#/agents">Back to the agents</a></p> : null}
      <div class="detail-grid">
        <section class="panel">
          <div class="panel-head">
            <h2>System</h2>
          </div>
          <div class="panel-body">
            <AgentIdentity agent={a} editable={isAdmin} onSaved={setLive} />
            <dl class="kv">
              <dt>Host name</dt>
              <dd>{a.hostname || '—'}</dd>
              <dt>OS / arch</dt>
              <dd>
                {a.os || '?'} / {a.arch || '?'}
              </dd>
              <dt>Shell</dt>
              <dd class="mono">{a.shell || 'default'}</dd>
              <dt>Agent version</dt>
              <dd>{a.version || '—'}</dd>
              <dt>{online ? 'Connected' : 'Last seen'}</dt>
              <dd>{online ? shortDate(a.connectedAt) : relativeTime(a.lastSeenAt)}</dd>
              <dt>Registered</dt>
              <dd>{shortDate(a.createdAt)}</dd>
              {a.description ? (
                <>
                  <dt>Description</dt>
                  <dd>{a.description}</dd>
                </>
              ) : null}
            </dl>
          </div>
        </section>
        <HostMetricsPanel agentId={a.id} online={online} />
        <section class="panel">
          <div class="panel-head">
            <h2>Open terminal sessions</h2>
          </div>
          <ErrorBanner error={sessions.error} />
          <ul class="list-plain" id="agent-sessions">
            {sessions.data?.length ? (
              sessions.data.map((s) => (
                <li data-session-id={s.id}>
                  <span class={`badge ${s.live ? 'badge-online' : 'badge-offline'}`}>{s.live ? 'live' : 'detached'}</span>
                  <span class="grow mono small" title={s.id}>
                    {s.id.slice(0, 8)} · {s.cols}×{s.rows}
                  </span>
                  <span class="muted small">by {s.openedBy}</span>
                  <span class="muted small" data-testid="viewers" title={s.attached.map((v) => `${v.name} (${v.mode === 'ro' ? 'read-only' : 'read-write'})`).join(', ')}>
                    {s.viewers} viewer{s.viewers === 1 ? '' : 's'} attached
                    {s.attached.length ? `: ${s.attached.map((v) => v.name + (v.mode === 'ro' ? ' (read-only)' : '')).join(', ')}` : ''}
                  </span>
                  <a class="btn btn-small" href={href('/terminals', { agent: a.id, session: s.id })}>
                    Attach
                  </a>
                </li>
              ))
            ) : (
              <li class="list-empty">{sessions.data ? 'No open sessions.' : 'Loading…'}</li>
            )}
          </ul>
        </section>
      </div>
      {confirm === 'delete' ? (
        <Confirm
          title="Delete agent"
          confirmLabel="Delete"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await deleteAgent(a.id);
            toast(`Deleted ${a.name}`);
            navigate('/agents');
          }}
        >
          Delete <strong>{a.name}</strong>? Its link is closed and its credential stops working; the agent has to register again. Past runs stay in the history.
        </Confirm>
      ) : null}
      {confirm === 'revoke' ? (
        <Confirm
          title="Revoke credential"
          confirmLabel="Revoke"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await revokeAgentCredential(a.id);
            toast(`Revoked the credential of ${a.name}`);
          }}
        >
          Revoke the credential of <strong>{a.name}</strong>? Its link closes at once and it cannot connect again until it is registered anew. The agent stays in the list with its history.
        </Confirm>
      ) : null}
      {confirm === 'rotate' ? (
        <Confirm
          title="Rotate credential"
          confirmLabel="Rotate"
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const r = await rotateAgentCredential(a.id);
            setCredential(r.credential);
          }}
        >
          Issue a new credential for <strong>{a.name}</strong>? The old one stops working; the live link stays up. Put the new one in the agent's config (or run <code>rexec-agent refresh-token</code> on the server instead).
        </Confirm>
      ) : null}
      {credential ? (
        <Modal title="New credential" onClose={() => setCredential(null)}>
          <p>Shown once. Put it in the agent's config file as its token.</p>
          <pre class="code-block">{credential}</pre>
          <button type="button" class="btn btn-small" onClick={() => void copyText(credential)}>
            <Icon name="copy" size={12} /> Copy
          </button>
        </Modal>
      ) : null}
    </div>
  );
}

/** Name and tags; admins edit them in place (PATCH /api/agents/{id}; a taken name is shown here). */
function AgentIdentity({ agent, editable, onSaved }: { agent: AgentView; editable: boolean; onSaved: (a: AgentView) => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(agent.name);
  const [tags, setTags] = useState(agent.tags.join(', '));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const start = () => {
    setName(agent.name);
    setTags(agent.tags.join(', '));
    setError(null);
    setEditing(true);
  };
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const saved = await updateAgent(agent.id, { name: name.trim(), tags: splitTags(tags) });
      onSaved(saved);
      setEditing(false);
      toast(`Saved ${saved.name}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!editing) {
    return (
      <div class="identity" id="agent-identity">
        <div class="identity-row">
          <span class="muted small">Tags</span>
          <span class="grow" data-testid="agent-tags">
            {agent.tags.length ? agent.tags.map((t) => <span class="chip" data-tag={t}>{t}</span>) : <span class="muted">none</span>}
          </span>
          {editable ? (
            <button type="button" class="btn btn-small" id="agent-edit" onClick={start}>
              <Icon name="edit" size={12} /> Rename or tag
            </button>
          ) : null}
        </div>
      </div>
    );
  }
  return (
    <form
      class="identity identity-edit form-row"
      id="agent-identity"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field label="Name" id="agent-edit-name" error={error ? errorText(error) : null}>
        <input id="agent-edit-name" type="text" value={name} maxLength={64} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label="Tags" id="agent-edit-tags" hint="Comma separated">
        <input id="agent-edit-tags" type="text" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
      </Field>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" id="agent-edit-save" disabled={busy}>
          Save
        </button>
        <button type="button" class="btn" id="agent-edit-cancel" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function gib(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
function rate(n: number | null): string {
  if (n === null) return '—';
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB/s` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB/s` : `${Math.round(n)} B/s`;
}
function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
}

/** Live host metrics: the current figures with a sparkline of the last minutes each. */
function HostMetricsPanel({ agentId, online }: { agentId: string; online: boolean }) {
  const initial = useAsync((s) => agentMetrics(agentId, s), [agentId]);
  const [samples, setSamples] = useState<HostMetrics[]>([]);
  useEffect(() => {
    if (initial.data) setSamples((cur) => mergeSamples(initial.data!, cur));
  }, [initial.data]);
  useLiveEvents(['agent.metrics'], (e) => {
    if (e.type === 'agent.metrics' && e.agentId === agentId) setSamples((cur) => mergeSamples(cur, [e.sample]));
  }, initial.reload);
  const last = samples[samples.length - 1];
  const series = (f: (m: HostMetrics) => number | null) => samples.map(f).filter((v): v is number => v !== null);
  const figure = (testid: string, label: string, value: string, spark: number[] | null, sub?: string, max?: number) => (
    <div class="metric" data-testid={testid}>
      <div class="metric-label">{label}</div>
      <div class="metric-value">{value}</div>
      {sub ? <div class="muted small">{sub}</div> : null}
      {spark ? <Sparkline values={spark} title={`${label}, last ${spark.length} samples`} {...(max !== undefined ? { max } : {})} /> : null}
    </div>
  );
  return (
    <section class="panel" id="agent-metrics" data-samples={samples.length}>
      <div class="panel-head">
        <h2>Host metrics</h2>
        <div class="spacer" />
        {last ? <span class="muted small" title={new Date(last.ts).toLocaleString()}>updated {relativeTime(new Date(last.ts).toISOString())}</span> : null}
      </div>
      <ErrorBanner error={initial.error} />
      {last ? (
        <div class="metrics-grid">
          {figure('metric-cpu', 'CPU', `${last.cpuPercent.toFixed(0)}%`, series((m) => m.cpuPercent), undefined, 100)}
          {figure('metric-memory', 'Memory', `${Math.round((last.memUsedBytes / Math.max(1, last.memTotalBytes)) * 100)}%`, series((m) => m.memUsedBytes / Math.max(1, m.memTotalBytes) * 100), `${gib(last.memUsedBytes)} of ${gib(last.memTotalBytes)}`, 100)}
          {figure('metric-disk', 'Disk /', last.diskTotalBytes ? `${Math.round(((last.diskUsedBytes ?? 0) / last.diskTotalBytes) * 100)}%` : '—', null, last.diskTotalBytes ? `${gib(last.diskUsedBytes ?? 0)} of ${gib(last.diskTotalBytes)}` : 'no root file system')}
          {figure('metric-load', 'Load', last.load.map((l) => l.toFixed(2)).join(' · '), series((m) => m.load[0]), '1 · 5 · 15 min')}
          {figure('metric-net', 'Network', `↓ ${rate(last.netRxBytesPerSec)}`, series((m) => (m.netRxBytesPerSec ?? 0) + (m.netTxBytesPerSec ?? 0)), `↑ ${rate(last.netTxBytesPerSec)}`)}
          {figure('metric-uptime', 'Uptime', uptime(last.uptimeSeconds), null)}
        </div>
      ) : (
        <p class="panel-body muted" data-testid="metrics-empty">
          {online ? 'Waiting for the first sample. Agents report every 10 s by default (metrics_interval; 0 turns it off); older agents do not report metrics.' : 'The agent is offline; metrics appear when it reports again.'}
        </p>
      )}
    </section>
  );
}

/** Samples in time order without duplicates, the last 60. */
function mergeSamples(a: HostMetrics[], b: HostMetrics[]): HostMetrics[] {
  const byTs = new Map<number, HostMetrics>();
  for (const m of [...a, ...b]) byTs.set(m.ts, m);
  return [...byTs.values()].sort((x, y) => x.ts - y.ts).slice(-60);
}

function AddAgent() {
  const [tags, setTags] = useState('');
  const [minutes, setMinutes] = useState('15');
  const [enroll, setEnroll] = useState<EnrollmentResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow(1000);
  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const m = Math.round(Number(minutes));
      setEnroll(await createEnrollmentToken({ ...(m > 0 ? { expiresInMinutes: m } : {}), tags: splitTags(tags) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const left = enroll ? Date.parse(enroll.expiresAt) - now : 0;
  return (
    <div class="page" id="add-agent">
      <div class="crumbs">
        <a href="#/agents">Agents</a> / add
      </div>
      <PageHead title="Add an agent" />
      <div class="panel panel-body form-grid">
        <p>
          The agent dials out to this relay, so the server needs no open port. Create an enrollment token, then paste one of the commands on the server; the agent shows up in the list as soon as it connects.
        </p>
        <form
          class="form-row"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <Field label="Tags for the agent" id="add-agent-tags" hint="Comma separated; they replace the tags the agent asks for">
            <input id="add-agent-tags" type="text" value={tags} placeholder="prod, eu" onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Valid for (minutes)" id="add-agent-minutes" hint="1 to 1440 (a day)">
            <input id="add-agent-minutes" type="number" min={1} max={1440} value={minutes} onInput={(e) => setMinutes((e.target as HTMLInputElement).value)} />
          </Field>
        </form>
        <div>
          <button type="button" class="btn btn-primary" id="create-enrollment" disabled={busy} onClick={() => void create()}>
            {enroll ? 'Create another token' : 'Create an enrollment token'}
          </button>
        </div>
        <ErrorBanner error={error} prefix="Could not create an enrollment token" />
        {enroll ? (
          <>
            <p class={`banner ${left > 0 ? 'banner-info' : 'banner-warn'}`} data-testid="enrollment-note">
              <span>
                <strong>Works once.</strong> The token registers a single agent and is then used up.{' '}
                {left > 0 ? (
                  <>
                    It expires <span title={new Date(enroll.expiresAt).toLocaleString()}>{countdown(enroll.expiresAt, now)}</span> (at {new Date(enroll.expiresAt).toLocaleTimeString()}).
                  </>
                ) : (
                  'It has expired: create another one.'
                )}{' '}
                {enroll.tags.length ? <>The agent gets the tags {enroll.tags.join(', ')}.</> : null} It is shown only now.
              </span>
            </p>
            <Field label="Install, register and start (from a checkout of Rexec, Node.js 20.19+)" id="install-command">
              <div class="cmd">
                <pre class="code-block" id="install-command">
                  {enroll.installCommand}
                </pre>
                <button type="button" class="icon-btn" aria-label="Copy the install command" onClick={() => void copyText(enroll.installCommand)}>
                  <Icon name="copy" />
                </button>
              </div>
            </Field>
            <Field label="Or, with rexec-agent already installed" id="register-command">
              <div class="cmd">
                <pre class="code-block" id="register-command">
                  {enroll.registerCommand}
                </pre>
                <button type="button" class="icon-btn" aria-label="Copy the register command" onClick={() => void copyText(enroll.registerCommand)}>
                  <Icon name="copy" />
                </button>
              </div>
            </Field>
          </>
        ) : null}
      </div>
    </div>
  );
}
