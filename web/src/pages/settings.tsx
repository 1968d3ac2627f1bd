/**
 * Settings: profile cards (enabled badge, quick test on an agent, edit, duplicate, delete) and
 * the runner settings (default directory and timeout, concurrency, output retention and cap).
 *
 * Test hooks: `[data-profile-card=SLUG]` with `[data-action=test|edit|duplicate|delete]`,
 * `#new-profile`, `#profile-test-result`, `#runner-settings` fields `#rs-*`, `#rs-save`.
 */
import { useEffect, useState } from 'preact/hooks';
import { LIMITS, type ProfileView, type RunnerSettings } from '@rexec/shared';
import { deleteProfile, duplicateProfile, errorText, getRunnerSettings, putRunnerSettings, testProfile, type ProfileTestResult } from '../api.js';
import { Confirm, ErrorBanner, Field, Icon, Modal, PageHead, ProfileIcon, Spinner, StatusBadge, toast, useAsync } from '../components/ui.js';
import { useAgents, useProfiles } from '../data.js';
import { navigate } from '../nav.js';

export function SettingsPage() {
  const { profiles, error, reload } = useProfiles();
  const [testing, setTesting] = useState<ProfileView | null>(null);
  const [deleting, setDeleting] = useState<ProfileView | null>(null);
  const duplicate = async (p: ProfileView) => {
    try {
      const copy = await duplicateProfile(p.id);
      toast(`Duplicated as "${copy.name}"`);
      navigate(`/settings/profiles/${copy.id}`);
    } catch (err) {
      toast(`Could not duplicate: ${errorText(err)}`, 'error');
    }
  };
  return (
    <div class="page page-wide">
      <PageHead title="Settings" />
      <section class="section">
        <div class="section-head">
          <h2>Agent profiles</h2>
          <p class="muted">How each AI coding CLI (or any command) is invoked. $PROMPT and $WORKING_DIR reach the template as environment variables, never spliced into it.</p>
          <div class="spacer" />
          <a class="btn btn-primary" id="new-profile" href="#/settings/profiles/new">
            <Icon name="plus" size={14} /> New profile
          </a>
        </div>
        <ErrorBanner error={error} onRetry={reload} prefix="Could not load profiles" />
        {!profiles ? (
          error ? null : <Spinner />
        ) : (
          <div class="grid grid-cards">
            {profiles.map((p) => (
              <article class="panel profile-card" data-profile-card={p.slug} data-enabled={String(p.enabled)}>
                <div class="profile-card-head">
                  <ProfileIcon icon={p.icon} agentType={p.agentType} size={30} />
                  <div class="grow">
                    <h3>{p.name}</h3>
                    <span class="muted small mono">{p.slug}</span>
                  </div>
                  <span class={`badge ${p.enabled ? 'badge-online' : 'badge-offline'}`}>{p.enabled ? 'enabled' : 'disabled'}</span>
                </div>
                <pre class="tpl-mini" title={p.invocationTemplate}>
                  {p.invocationTemplate}
                </pre>
                <div class="profile-meta muted small">
                  <span class="badge-plain">{p.agentType}</span>
                  <span>
                    timeout {p.defaultTimeout}/{p.maxTimeout} min
                  </span>
                  {p.pty ? <span class="badge-plain">PTY</span> : null}
                  {p.builtIn ? <span class="badge-plain">built-in</span> : null}
                  {p.env.length ? <span>{p.env.length} env</span> : null}
                </div>
                <div class="btn-group">
                  <button type="button" class="btn btn-small" data-action="test" onClick={() => setTesting(p)} title="Run a harmless prompt with this profile on an agent">
                    <Icon name="zap" size={12} /> Test
                  </button>
                  <a class="btn btn-small" data-action="edit" href={`#/settings/profiles/${p.id}`}>
                    <Icon name="edit" size={12} /> Edit
                  </a>
                  <button type="button" class="btn btn-small" data-action="duplicate" onClick={() => void duplicate(p)}>
                    <Icon name="copy" size={12} /> Duplicate
                  </button>
                  <button type="button" class="icon-btn btn-danger push-right" data-action="delete" title="Delete" aria-label={`Delete ${p.name}`} onClick={() => setDeleting(p)}>
                    <Icon name="trash" />
                  </button>
                </div>
              </article>
            ))}
          </div>
        )}
      </section>
      <RunnerSettingsForm />
      {testing ? <TestProfile profile={testing} onClose={() => setTesting(null)} /> : null}
      {deleting ? (
        <Confirm
          title="Delete profile"
          confirmLabel="Delete"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await deleteProfile(deleting.id);
            toast(`Deleted "${deleting.name}"`);
            reload();
          }}
        >
          Delete the profile <strong>{deleting.name}</strong>? Saved prompts that use it will ask for a profile when run; past runs keep its name.
        </Confirm>
      ) : null}
    </div>
  );
}

function TestProfile({ profile, onClose }: { profile: ProfileView; onClose: () => void }) {
  const { agents } = useAgents();
  const [agent, setAgent] = useState('');
  const [dir, setDir] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ProfileTestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!agent && agents?.length) setAgent((agents.find((a) => a.status === 'online') ?? agents[0])!.id);
  }, [agents]);
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await testProfile(profile.id, agent, dir.trim() || undefined));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Test "${profile.name}"`}
      onClose={onClose}
      wide
      testid="profile-test"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Close
          </button>
          <button type="button" class="btn btn-primary" id="profile-test-run" disabled={busy || !agent} onClick={() => void run()}>
            {busy ? 'Testing…' : 'Run test'}
          </button>
        </>
      }
    >
      <p class="muted">Runs the template with the harmless prompt <code>echo test</code> (up to a minute) and shows what came back.</p>
      <div class="form-row">
        <Field label="Agent" id="profile-test-agent">
          <select id="profile-test-agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
            {agents?.map((a) => (
              <option value={a.id}>
                {a.name}
                {a.status === 'online' ? '' : ' (offline)'}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Working directory" id="profile-test-dir" hint="Empty: the agent's default">
          <input id="profile-test-dir" type="text" class="mono-input" value={dir} onInput={(e) => setDir((e.target as HTMLInputElement).value)} />
        </Field>
      </div>
      {busy ? <Spinner label="Running the test…" /> : null}
      <ErrorBanner error={error} />
      {result ? (
        <div id="profile-test-result" data-ok={String(result.ok)} class="test-result">
          <p>
            {result.run ? <StatusBadge status={result.run.status} /> : null} {result.ok ? 'The profile works on this agent.' : result.run?.statusReason ?? 'The test did not complete.'}
            {result.run?.exitCode !== null && result.run?.exitCode !== undefined ? ` Exit ${result.run.exitCode}.` : ''}
          </p>
          {result.output ? <pre class="code-block">{result.output}</pre> : null}
          {result.stderr ? <pre class="code-block stderr">{result.stderr}</pre> : null}
        </div>
      ) : null}
    </Modal>
  );
}

function RunnerSettingsForm() {
  const data = useAsync((signal) => getRunnerSettings(signal), []);
  const [form, setForm] = useState<Record<keyof RunnerSettings, string> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const s = data.data;
    if (!s) return;
    setForm({
      defaultWorkingDirectory: s.defaultWorkingDirectory,
      defaultTimeout: String(s.defaultTimeout),
      maxConcurrentRuns: String(s.maxConcurrentRuns),
      maxConcurrentRunsPerAgent: String(s.maxConcurrentRunsPerAgent),
      outputRetentionDays: String(s.outputRetentionDays),
      outputCapBytes: String(Math.round((s.outputCapBytes / 1024 / 1024) * 100) / 100),
    });
  }, [data.data]);
  const save = async () => {
    if (!form) return;
    const num = (k: keyof RunnerSettings) => Number(form[k]);
    const patch: RunnerSettings = {
      defaultWorkingDirectory: form.defaultWorkingDirectory.trim(),
      defaultTimeout: num('defaultTimeout'),
      maxConcurrentRuns: num('maxConcurrentRuns'),
      maxConcurrentRunsPerAgent: num('maxConcurrentRunsPerAgent'),
      outputRetentionDays: num('outputRetentionDays'),
      outputCapBytes: Math.round(num('outputCapBytes') * 1024 * 1024),
    };
    const bad = Object.entries(patch).find(([k, v]) => k !== 'defaultWorkingDirectory' && !Number.isFinite(v as number));
    if (bad) return setError(new Error(`${bad[0]} must be a number.`));
    setBusy(true);
    setError(null);
    try {
      await putRunnerSettings(patch);
      toast('Runner settings saved');
      data.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const input = (k: keyof RunnerSettings, props: Record<string, unknown> = {}) => (
    <input id={`rs-${k}`} type="number" value={form?.[k] ?? ''} onInput={(e) => form && setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} {...props} />
  );
  return (
    <section class="section">
      <div class="section-head">
        <h2>Runner</h2>
        <p class="muted">Defaults and limits for every run.</p>
      </div>
      <ErrorBanner error={data.error} onRetry={data.reload} prefix="Could not load the runner settings" />
      {!form ? (
        data.error ? null : <Spinner />
      ) : (
        <form
          class="panel panel-body form-grid runner-form"
          id="runner-settings"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <div class="form-row form-row-3">
            <Field label="Default working directory" id="rs-defaultWorkingDirectory" hint="Empty: each agent's own default">
              <input id="rs-defaultWorkingDirectory" type="text" class="mono-input" value={form.defaultWorkingDirectory} onInput={(e) => setForm({ ...form, defaultWorkingDirectory: (e.target as HTMLInputElement).value })} />
            </Field>
            <Field label="Default timeout (minutes)" id="rs-defaultTimeout" hint="For runs whose prompt and profile set none">
              {input('defaultTimeout', { min: 1, max: LIMITS.maxExecTimeoutMs / 60_000 })}
            </Field>
            <Field label="Output retention (days)" id="rs-outputRetentionDays" hint="0 keeps finished runs forever">
              {input('outputRetentionDays', { min: 0 })}
            </Field>
            <Field label="Max concurrent runs" id="rs-maxConcurrentRuns" hint="Over all agents; more wait in the queue">
              {input('maxConcurrentRuns', { min: 1, max: 1000 })}
            </Field>
            <Field label="Max concurrent runs per agent" id="rs-maxConcurrentRunsPerAgent">
              {input('maxConcurrentRunsPerAgent', { min: 1, max: 1000 })}
            </Field>
            <Field label="Output cap per run (MiB)" id="rs-outputCapBytes" hint={`0.0625 to ${LIMITS.maxRunOutputBytes / 1024 / 1024} MiB; beyond it output is dropped and the run marked truncated`}>
              {input('outputCapBytes', { min: 0.0625, step: 0.0625 })}
            </Field>
          </div>
          <ErrorBanner error={error} />
          <div>
            <button type="submit" class="btn btn-primary" id="rs-save" disabled={busy}>
              Save runner settings
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
