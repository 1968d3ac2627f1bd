/**
 * Admin: API tokens (list with their agent tags, create with role, expiry and agent tags, revoke;
 * the secret shown once), users and roles (admin-users.tsx) and the audit log (admin-audit.tsx).
 *
 * Test hooks: `#tokens-table`, `#new-token`, `#token-name`, `#token-role`, `#token-tags`,
 * `#token-create`, `#token-secret`, `[data-section=tokens|users|audit]`.
 */
import { useState } from 'preact/hooks';
import { createToken, deleteToken, listTokens, splitTags } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, PageHead, Spinner, copyText, shortDate, toast, useAsync } from '../components/ui.js';
import { AuditSection } from './admin-audit.js';
import { TagList, UsersSection } from './admin-users.js';
import { getSession } from '../session.js';

export function AdminPage() {
  const isAdmin = getSession()?.user.role === 'admin';
  const tokens = useAsync(() => (isAdmin ? listTokens() : Promise.resolve([])), []);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  if (!isAdmin) {
    return (
      <div class="page">
        <PageHead title="Admin" />
        <p class="banner banner-info">Only admins manage users, tokens and the audit log. Ask an admin if you need a token.</p>
      </div>
    );
  }
  const live = tokens.data?.filter((t) => !t.revokedAt) ?? [];
  return (
    <div class="page page-wide">
      <PageHead title="Admin" />
      <nav class="subnav" aria-label="Admin sections">
        <a href="#/admin" onClick={(e) => jump(e, 'users')}>Users and roles</a>
        <a href="#/admin" onClick={(e) => jump(e, 'tokens')}>API tokens</a>
        <a href="#/admin" onClick={(e) => jump(e, 'audit')}>Audit log</a>
      </nav>
      <UsersSection />
      <section class="section" data-section="tokens">
        <div class="section-head">
          <h2>API tokens</h2>
          <p class="muted">For the CLI, scripts and registering agents. The secret is shown once, when created.</p>
          <div class="spacer" />
          <button type="button" class="btn btn-primary" id="new-token" onClick={() => setCreating(true)}>
            <Icon name="plus" size={14} /> New token
          </button>
        </div>
        <ErrorBanner error={tokens.error} onRetry={tokens.reload} prefix="Could not load tokens" />
        {!tokens.data ? (
          tokens.error ? null : <Spinner />
        ) : (
          <div class="table-wrap">
            <table class="table" id="tokens-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Role</th>
                  <th>Agents</th>
                  <th>Prefix</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {live.length === 0 ? (
                  <tr>
                    <td colSpan={8} class="muted">
                      No tokens.
                    </td>
                  </tr>
                ) : (
                  live.map((t) => (
                    <tr data-token-name={t.name}>
                      <td>
                        <strong>{t.name}</strong>
                      </td>
                      <td>
                        <span class="badge-plain">{t.role}</span>
                      </td>
                      <td>{t.agentTags?.length ? <TagList tags={t.agentTags} /> : <span class="muted">all agents</span>}</td>
                      <td class="mono">{t.prefix ?? ''}…</td>
                      <td>{shortDate(t.createdAt)}</td>
                      <td>{t.expiresAt ? shortDate(t.expiresAt) : 'never'}</td>
                      <td>{t.lastUsedAt ? shortDate(t.lastUsedAt) : 'never'}</td>
                      <td>
                        <button type="button" class="btn btn-small btn-danger" onClick={() => setRevoking(t)}>
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <AuditSection />
      {creating ? <CreateToken onClose={() => setCreating(false)} onCreated={tokens.reload} /> : null}
      {revoking ? (
        <Confirm
          title="Revoke token"
          confirmLabel="Revoke"
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await deleteToken(revoking.id);
            toast(`Revoked "${revoking.name}"`);
            tokens.reload();
          }}
        >
          Revoke <strong>{revoking.name}</strong>? Scripts and CLIs using it stop working at once.
        </Confirm>
      ) : null}
    </div>
  );
}

function jump(e: Event, section: string): void {
  e.preventDefault();
  document.querySelector(`[data-section="${section}"]`)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

export function CreateToken({ onClose, onCreated, presetName, presetRole, presetDays, intro }: { onClose: () => void; onCreated: (secret: string) => void; presetName?: string; presetRole?: string; presetDays?: string; intro?: string }) {
  const [name, setName] = useState(presetName ?? '');
  const [role, setRole] = useState(presetRole ?? 'operator');
  const [days, setDays] = useState(presetDays ?? '90');
  const [tags, setTags] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async () => {
    if (!name.trim()) return setError(new Error('Name the token (what uses it).'));
    try {
      const r = await createToken({ name: name.trim(), role, ...(Number(days) > 0 ? { expiresInDays: Number(days) } : {}), agentTags: splitTags(tags) });
      setSecret(r.token);
      onCreated(r.token);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal
      title={secret ? 'Token created' : 'New API token'}
      onClose={onClose}
      testid="token-dialog"
      footer={
        secret ? (
          <button type="button" class="btn btn-primary" onClick={onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" class="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="button" class="btn btn-primary" id="token-create" onClick={() => void create()}>
              Create
            </button>
          </>
        )
      }
    >
      {secret ? (
        <div class="form-grid">
          <p>Copy it now: the relay keeps only its hash and cannot show it again.</p>
          <pre class="code-block" id="token-secret">
            {secret}
          </pre>
          <div>
            <button type="button" class="btn btn-small" onClick={() => void copyText(secret)}>
              <Icon name="copy" size={12} /> Copy
            </button>
          </div>
        </div>
      ) : (
        <form
          class="form-grid"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          {intro ? <p class="muted">{intro}</p> : null}
          <Field label="Name" id="token-name">
            <input id="token-name" type="text" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <div class="form-row">
            <Field label="Role" id="token-role">
              <select id="token-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
                <option value="viewer">viewer</option>
                <option value="operator">operator</option>
                <option value="admin">admin</option>
              </select>
            </Field>
            <Field label="Expires after (days)" id="token-days" hint="0: never">
              <input id="token-days" type="number" min={0} value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
            </Field>
          </div>
          <Field label="Agent tags" id="token-tags" hint="Comma separated. The token may use only agents with one of these tags; empty: every agent.">
            <input id="token-tags" type="text" value={tags} placeholder="ci, staging" onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
          </Field>
          <ErrorBanner error={error} />
        </form>
      )}
    </Modal>
  );
}
