/**
 * Admin -> Users and roles: list (role, agent tags, state, lockout, last sign-in), create (with
 * a password, or a one-time password shown once), edit role / agent tags, disable / enable,
 * reset password. The relay's refusals (e.g. 409 "last enabled admin") are shown in place.
 *
 * Test hooks: `#users-table`, `tr[data-username]` (with `data-disabled`), `#new-user`,
 * `#user-name`, `#user-role`, `#user-tags`, `#user-password`, `#user-create`, `#one-time-password`,
 * `[data-action=edit-user|toggle-user|reset-user]`, `#user-save`, `[data-testid=user-row-error]`.
 */
import type { UserView } from '@rexec/shared';
import { useState } from 'preact/hooks';
import { createUser, errorText, listUsers, resetUserPassword, splitTags, updateUser } from '../api.js';
import { ErrorBanner, Field, Icon, Modal, Spinner, copyText, shortDate, toast, useAsync, useNow, useRowActions } from '../components/ui.js';
import { getSession } from '../session.js';

const ROLES = ['viewer', 'operator', 'admin'] as const;

export function UsersSection() {
  const users = useAsync((s) => listUsers(s), []);
  const now = useNow(15_000);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<UserView | null>(null);
  const [secret, setSecret] = useState<{ username: string; password: string; reset: boolean } | null>(null);
  const me = getSession()?.user.username;

  const rows = useRowActions(users.reload);
  const { busy, rowError, setRowError } = rows;
  const act = (u: UserView, fn: () => Promise<void>) => rows.act(u.id, fn);

  return (
    <section class="section" data-section="users">
      <div class="section-head">
        <h2>Users and roles</h2>
        <p class="muted">Viewers read, operators run and schedule, admins manage. Agent tags limit which agents someone may use.</p>
        <div class="spacer" />
        <button type="button" class="btn btn-primary" id="new-user" onClick={() => setCreating(true)}>
          <Icon name="plus" size={14} /> New user
        </button>
      </div>
      <ErrorBanner error={users.error} onRetry={users.reload} prefix="Could not load users" />
      {!users.data ? (
        users.error ? null : <Spinner />
      ) : (
        <div class="table-wrap">
          <table class="table" id="users-table">
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>Agents</th>
                <th>State</th>
                <th>Last sign-in</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => {
                const locked = u.lockedUntil && Date.parse(u.lockedUntil) > now;
                return [
                  <tr key={u.id} data-username={u.username} data-disabled={String(u.disabled)} class={u.disabled ? 'row-muted' : ''}>
                    <td>
                      <strong>{u.username}</strong>
                      {u.username === me ? <span class="muted small"> (you)</span> : null}
                    </td>
                    <td>
                      <span class={`badge-plain role-${u.role}`}>{u.role}</span>
                    </td>
                    <td>{u.agentTags.length ? <TagList tags={u.agentTags} /> : <span class="muted">all agents</span>}</td>
                    <td data-testid="user-state">
                      {u.disabled ? (
                        <span class="pill pill-off">disabled</span>
                      ) : locked ? (
                        <span class="pill pill-warn" title={`Too many failed sign-ins; locked until ${new Date(u.lockedUntil!).toLocaleString()}`}>
                          locked until {shortDate(u.lockedUntil)}
                        </span>
                      ) : (
                        <span class="pill pill-ok">active</span>
                      )}
                      {u.mustChangePassword && !u.disabled ? <span class="muted small"> · must set a password</span> : null}
                    </td>
                    <td>{u.lastLoginAt ? shortDate(u.lastLoginAt) : <span class="muted">never</span>}</td>
                    <td>{shortDate(u.createdAt)}</td>
                    <td class="row-actions">
                      <button type="button" class="btn btn-small" data-action="edit-user" disabled={busy === u.id} onClick={() => setEditing(u)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        class="btn btn-small"
                        data-action="reset-user"
                        disabled={busy === u.id}
                        title="Issue a one-time password (the user must change it at sign-in)"
                        onClick={() =>
                          void act(u, async () => {
                            const r = await resetUserPassword(u.id);
                            setSecret({ username: u.username, password: r.oneTimePassword, reset: true });
                          })
                        }
                      >
                        Reset password
                      </button>
                      <button
                        type="button"
                        class={`btn btn-small ${u.disabled ? '' : 'btn-danger'}`}
                        data-action="toggle-user"
                        disabled={busy === u.id}
                        onClick={() =>
                          void act(u, async () => {
                            await updateUser(u.id, { disabled: !u.disabled });
                            toast(`${u.disabled ? 'Enabled' : 'Disabled'} ${u.username}`);
                          })
                        }
                      >
                        {u.disabled ? 'Enable' : 'Disable'}
                      </button>
                    </td>
                  </tr>,
                  rowError?.id === u.id ? (
                    <tr key={`${u.id}-err`} class="row-error">
                      <td colSpan={7}>
                        <p class="banner banner-error" role="alert" data-testid="user-row-error">
                          <span>
                            {u.username}: {rowError.text}
                          </span>
                          <button type="button" class="btn btn-small" onClick={() => setRowError(null)}>
                            Dismiss
                          </button>
                        </p>
                      </td>
                    </tr>
                  ) : null,
                ];
              })}
            </tbody>
          </table>
        </div>
      )}
      {creating ? (
        <CreateUser
          onClose={() => setCreating(false)}
          onCreated={(username, password) => {
            setCreating(false);
            users.reload();
            if (password) setSecret({ username, password, reset: false });
            else toast(`Created ${username}`);
          }}
        />
      ) : null}
      {editing ? (
        <EditUser
          user={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            users.reload();
          }}
        />
      ) : null}
      {secret ? <OneTimePassword {...secret} onClose={() => setSecret(null)} /> : null}
    </section>
  );
}

export function TagList({ tags }: { tags: string[] }) {
  return (
    <ul class="tags tags-inline">
      {tags.map((t) => (
        <li class="chip" data-tag={t}>
          {t}
        </li>
      ))}
    </ul>
  );
}

function OneTimePassword({ username, password, reset, onClose }: { username: string; password: string; reset: boolean; onClose: () => void }) {
  return (
    <Modal
      title={reset ? `Password reset for ${username}` : `User ${username} created`}
      onClose={onClose}
      testid="otp-dialog"
      footer={
        <button type="button" class="btn btn-primary" onClick={onClose}>
          Done
        </button>
      }
    >
      <div class="form-grid">
        <p>
          One-time password for <strong>{username}</strong>. Give it to them over a safe channel: it is shown only now, and they must choose a new password when they first sign in.
        </p>
        <div class="cmd">
          <pre class="code-block" id="one-time-password">
            {password}
          </pre>
          <button type="button" class="icon-btn" aria-label="Copy the one-time password" onClick={() => void copyText(password)}>
            <Icon name="copy" />
          </button>
        </div>
      </div>
    </Modal>
  );
}

function CreateUser({ onClose, onCreated }: { onClose: () => void; onCreated: (username: string, oneTimePassword?: string) => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState('operator');
  const [tags, setTags] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const create = async () => {
    if (!username.trim()) return setError(new Error('Give the user a name.'));
    setBusy(true);
    try {
      const r = await createUser({ username: username.trim(), role, agentTags: splitTags(tags), ...(password ? { password } : {}) });
      onCreated(r.user.username, r.oneTimePassword);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New user"
      onClose={onClose}
      testid="user-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" id="user-create" disabled={busy} onClick={() => void create()}>
            Create
          </button>
        </>
      }
    >
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <div class="form-row">
          <Field label="Username" id="user-name">
            <input id="user-name" type="text" autocomplete="off" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Role" id="user-role">
            <select id="user-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
              {ROLES.map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
          </Field>
        </div>
        <Field label="Agent tags" id="user-tags" hint="Comma separated. The user may use only agents with one of these tags; empty: every agent.">
          <input id="user-tags" type="text" value={tags} placeholder="prod, eu" onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Password" id="user-password" hint="Leave empty to get a one-time password that must be changed at first sign-in.">
          <input id="user-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}

function EditUser({ user, onClose, onSaved }: { user: UserView; onClose: () => void; onSaved: () => void }) {
  const [role, setRole] = useState<string>(user.role);
  const [tags, setTags] = useState(user.agentTags.join(', '));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    try {
      await updateUser(user.id, { role, agentTags: splitTags(tags) });
      toast(`Saved ${user.username}`);
      onSaved();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Edit ${user.username}`}
      onClose={onClose}
      testid="user-edit-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" id="user-save" disabled={busy} onClick={() => void save()}>
            Save
          </button>
        </>
      }
    >
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <Field label="Role" id="edit-user-role">
          <select id="edit-user-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </Field>
        <Field label="Agent tags" id="edit-user-tags" hint="Comma separated; empty: every agent. Narrowing access closes the user's open terminals and sockets at once.">
          <input id="edit-user-tags" type="text" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}
