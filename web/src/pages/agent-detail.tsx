/**
 * One agent (`#/agents/{id}`): facts, open terminal sessions and who is attached, actions (open a
 * terminal, run here, rotate the credential, delete). `#/agents/new` is "Add agent": a
 * single-use enrollment token (`rxe_…`, expiring in minutes) and the relay's ready-to-paste
 * install and register commands.
 *
 * Test hooks: `#agent-detail`, `#agent-sessions`, `#agent-delete`, `#agent-rotate`,
 * `#add-agent`, `#add-agent-tags`, `#add-agent-minutes`, `#create-enrollment`, `#install-command`,
 * `#register-command`, `[data-testid=enrollment-note]`.
 */
import type { EnrollmentResponse } from '@rexec/shared';
import { useState } from 'preact/hooks';
import { createEnrollmentToken, deleteAgent, getAgent, listSessions, rotateAgentCredential, splitTags } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, PageHead, Spinner, copyText, shortDate, toast, useAsync, useNow, usePoll } from '../components/ui.js';
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
  usePoll(() => {
    agent.reload();
    sessions.reload();
  }, 5000);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | null>(null);
  const [credential, setCredential] = useState<string | null>(null);
  const a = agent.data;
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
      <PageHead title={a.name} sub={<span class={`badge ${online ? 'badge-online' : 'badge-offline'}`}>{a.status}</span>}>
        {online ? (
          <a class="btn btn-primary" href={`#${terminalRoute(a.id)}`} data-action="open-terminal">
            <Icon name="terminal" size={14} /> Open terminal
          </a>
        ) : null}
        <a class="btn" href={href('/run', { agent: a.id })}>
          <Icon name="run" size={14} /> Run here
        </a>
        <button type="button" class="btn" id="agent-rotate" onClick={() => setConfirm('rotate')}>
          Rotate credential
        </button>
        <button type="button" class="btn btn-danger" id="agent-delete" onClick={() => setConfirm('delete')}>
          <Icon name="trash" size={14} /> Delete
        </button>
      </PageHead>
      <div class="detail-grid">
        <section class="panel">
          <div class="panel-head">
            <h2>System</h2>
          </div>
          <div class="panel-body">
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
              <dt>Tags</dt>
              <dd>{a.tags.length ? a.tags.map((t) => <span class="chip">{t}</span>) : '—'}</dd>
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
            <p class="hint">Host metrics appear here once agents report them (not in this agent version). Renaming and re-tagging are done on the server: <code>rexec-agent register --force --name … --tags …</code>.</p>
          </div>
        </section>
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
