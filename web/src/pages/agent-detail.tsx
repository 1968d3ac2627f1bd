/**
 * One agent (`#/agents/{id}`): facts, open terminal sessions and who is attached, actions (open a
 * terminal, run here, rotate the credential, delete). `#/agents/new` is "Add agent": the
 * ready-to-run install command, with a registration token created on the spot.
 *
 * Test hooks: `#agent-detail`, `#agent-sessions`, `#agent-delete`, `#agent-rotate`,
 * `#add-agent`, `#install-command`, `#register-command`, `#create-register-token`.
 */
import { useState } from 'preact/hooks';
import { deleteAgent, getAgent, listSessions, rotateAgentCredential } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, PageHead, Spinner, copyText, shortDate, toast, useAsync, usePoll } from '../components/ui.js';
import { relativeTime } from '../dom.js';
import { href, navigate, terminalRoute } from '../nav.js';
import { CreateToken } from './admin.js';

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
                  <span class="muted small" data-testid="viewers">
                    {s.viewers} viewer{s.viewers === 1 ? '' : 's'} attached
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

/** Single-quotes a value for a POSIX shell command line. */
function sq(v: string): string {
  return /^[A-Za-z0-9_./:@,=+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function AddAgent() {
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [token, setToken] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const host = location.origin;
  const t = token ?? '<API_TOKEN>';
  const nameArg = name.trim() ? ` --name ${sq(name.trim())}` : '';
  const tagsArg = tags.trim() ? ` --tags ${sq(tags.replace(/\s+/g, ''))}` : '';
  const install = `./install-agent.sh --host ${host} --token ${t}${nameArg}${tagsArg}`;
  const register = `rexec-agent register --host ${host} --token ${t}${nameArg}${tagsArg} && rexec-agent start`;
  return (
    <div class="page" id="add-agent">
      <div class="crumbs">
        <a href="#/agents">Agents</a> / add
      </div>
      <PageHead title="Add an agent" />
      <div class="panel panel-body form-grid">
        <p>
          The agent dials out to this relay, so the server needs no open port. On the server, in a checkout of Rexec (Node.js 20.19+), run the command below; the agent shows up in the list as soon as it connects.
        </p>
        <div class="form-row">
          <Field label="Name" id="add-agent-name" hint="Default: the host name">
            <input id="add-agent-name" type="text" value={name} placeholder="web-1" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Tags" id="add-agent-tags" hint="Comma separated">
            <input id="add-agent-tags" type="text" value={tags} placeholder="prod, eu" onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
          </Field>
        </div>
        <div>
          {token ? (
            <p class="banner banner-info">A registration token was created (operator role, expires in 1 day) and is filled in below. It is shown only now.</p>
          ) : (
            <button type="button" class="btn btn-primary" id="create-register-token" onClick={() => setCreating(true)}>
              Create a registration token
            </button>
          )}
        </div>
        <Field label="Install, register and start" id="install-command">
          <div class="cmd">
            <pre class="code-block" id="install-command">
              {install}
            </pre>
            <button type="button" class="icon-btn" aria-label="Copy the install command" onClick={() => void copyText(install)}>
              <Icon name="copy" />
            </button>
          </div>
        </Field>
        <Field label="Or, with rexec-agent already installed" id="register-command">
          <div class="cmd">
            <pre class="code-block" id="register-command">
              {register}
            </pre>
            <button type="button" class="icon-btn" aria-label="Copy the register command" onClick={() => void copyText(register)}>
              <Icon name="copy" />
            </button>
          </div>
        </Field>
      </div>
      {creating ? (
        <CreateToken
          presetName={`register ${name.trim() || 'agent'} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`}
          presetRole="operator"
          presetDays="1"
          intro="An operator token that may register agents. It expires after a day by default."
          onClose={() => setCreating(false)}
          onCreated={(s) => {
            setToken(s);
            setCreating(false);
          }}
        />
      ) : null}
    </div>
  );
}
