/**
 * Admin: API tokens (list, create with role and expiry, revoke; the secret shown once), and users
 * and the audit log once the relay has those APIs (a 404 says "not available yet").
 *
 * Test hooks: `#tokens-table`, `#new-token`, `#token-name`, `#token-role`, `#token-create`,
 * `#token-secret`, `[data-section=users|audit]`.
 */
import { useState } from 'preact/hooks';
import { createToken, deleteToken, listTokens, routeExists } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, NotAvailable, PageHead, Spinner, copyText, shortDate, toast, useAsync } from '../components/ui.js';
import { getSession } from '../session.js';

export function AdminPage() {
  const isAdmin = getSession()?.user.role === 'admin';
  const tokens = useAsync(() => (isAdmin ? listTokens() : Promise.resolve([])), []);
  const users = useAsync(() => routeExists('/api/users'), []);
  const audit = useAsync(() => routeExists('/api/audit?limit=1'), []);
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
                    <td colSpan={7} class="muted">
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
      <section class="section" data-section="users">
        <div class="section-head">
          <h2>Users and roles</h2>
        </div>
        {users.data === false ? <NotAvailable what="User management pages" api="/api/users" /> : users.data ? <p class="banner banner-info">The relay has a users API; this page does not manage users yet — use <code>rexec users</code>.</p> : <Spinner />}
      </section>
      <section class="section" data-section="audit">
        <div class="section-head">
          <h2>Audit log</h2>
        </div>
        {audit.data === false ? <NotAvailable what="Audit log pages" api="/api/audit" /> : audit.data ? <p class="banner banner-info">The relay has an audit API; this page does not show it yet.</p> : <Spinner />}
      </section>
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

export function CreateToken({ onClose, onCreated, presetName, presetRole, presetDays, intro }: { onClose: () => void; onCreated: (secret: string) => void; presetName?: string; presetRole?: string; presetDays?: string; intro?: string }) {
  const [name, setName] = useState(presetName ?? '');
  const [role, setRole] = useState(presetRole ?? 'operator');
  const [days, setDays] = useState(presetDays ?? '90');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async () => {
    if (!name.trim()) return setError(new Error('Name the token (what uses it).'));
    try {
      const r = await createToken({ name: name.trim(), role, ...(Number(days) > 0 ? { expiresInDays: Number(days) } : {}) });
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
          <ErrorBanner error={error} />
        </form>
      )}
    </Modal>
  );
}
