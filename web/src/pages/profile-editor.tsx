/**
 * Profile editor: name, agent type, icon, invocation template (with $VARIABLE and quote
 * highlighting), shell, timeouts, PTY, environment variables (secret ones write-only); Validate
 * shows each check; the variable reference; a live preview of the resolved command for a sample
 * prompt and directory (shared's displayCommand, the same the relay shows for runs).
 *
 * Test hooks: `#pf-name`, `#pf-type`, `#pf-icon`, `#pf-template`, `#pf-shell`, `#pf-default-timeout`,
 * `#pf-max-timeout`, `#pf-pty`, `#pf-enabled`, `#pf-ack`, `#pf-validate`, `#pf-save`,
 * `#pf-preview`, `[data-testid=checks]` with `[data-check=ID][data-ok]`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AGENT_TYPES, displayCommand, type AgentType, type ProfileView, type TemplateCheck } from '@rexec/shared';
import { checksOf, createProfile, getProfile, updateProfile, validateTemplate, type ProfileInput } from '../api.js';
import { ErrorBanner, Field, Icon, PageHead, ProfileIcon, Spinner, toast } from '../components/ui.js';
import { navigate } from '../nav.js';
import { Checks } from './run.js';

const ICONS = ['terminal', 'claude', 'openai', 'opencode', 'gemini', 'aider'];

interface EnvRow {
  name: string;
  value: string;
  secret: boolean;
  /** A stored secret: its value is not shown; empty keeps it. */
  stored: boolean;
}

/** Template text with $VARIABLES, quoted strings and comments coloured. */
function highlightTemplate(t: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const re = /(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)|("(?:[^"\\]|\\.)*"?)|('[^']*'?)|(#[^\n]*)|(&&|\|\||[|;])/g;
  let at = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m.index > at) out.push(t.slice(at, m.index));
    if (m[1]) out.push(<span class="hl-var">{m[1]}</span>);
    else if (m[2]) {
      // Variables inside double quotes stay visible.
      const parts = m[2].split(/(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)/);
      out.push(<span class="hl-str">{parts.map((p, i) => (i % 2 ? <span class="hl-var">{p}</span> : p))}</span>);
    } else if (m[3]) out.push(<span class="hl-str">{m[3]}</span>);
    else if (m[4]) out.push(<span class="hl-comment">{m[4]}</span>);
    else out.push(<span class="hl-op">{m[5]}</span>);
    at = m.index + m[0].length;
  }
  if (at < t.length) out.push(t.slice(at));
  out.push('\n');
  return out;
}

export function ProfileEditorPage({ profileId }: { profileId: string; query: URLSearchParams }) {
  const isNew = profileId === 'new';
  const [loaded, setLoaded] = useState<ProfileView | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [agentType, setAgentType] = useState<AgentType>('custom');
  const [icon, setIcon] = useState('terminal');
  const [template, setTemplate] = useState('cd "$WORKING_DIR" && my-cli --prompt "$PROMPT"');
  const [shell, setShell] = useState('');
  const [defTimeout, setDefTimeout] = useState('30');
  const [maxTimeout, setMaxTimeout] = useState('120');
  const [pty, setPty] = useState(false);
  const [enabled, setEnabled] = useState(true);
  const [ack, setAck] = useState(false);
  const [env, setEnv] = useState<EnvRow[]>([]);
  const [checks, setChecks] = useState<TemplateCheck[] | null>(null);
  const [validating, setValidating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [samplePrompt, setSamplePrompt] = useState('Fix the failing test in src/app.ts');
  const [sampleDir, setSampleDir] = useState('/srv/project');

  useEffect(() => {
    if (isNew) return;
    getProfile(profileId)
      .then((p) => {
        setLoaded(p);
        setName(p.name);
        setAgentType(p.agentType);
        setIcon(p.icon || 'terminal');
        setTemplate(p.invocationTemplate);
        setShell(p.shell);
        setDefTimeout(String(p.defaultTimeout));
        setMaxTimeout(String(p.maxTimeout));
        setPty(p.pty);
        setEnabled(p.enabled);
        setEnv(p.env.map((e) => ({ name: e.name, value: e.value ?? '', secret: e.secret, stored: e.secret })));
      })
      .catch(setLoadError);
  }, [profileId]);

  const validate = async () => {
    setValidating(true);
    setError(null);
    try {
      const r = await validateTemplate(template, ack, shell);
      setChecks(r.checks);
    } catch (err) {
      setError(err);
    } finally {
      setValidating(false);
    }
  };

  const save = async () => {
    if (!name.trim()) return setError(new Error('Give the profile a name.'));
    if (!template.trim()) return setError(new Error('The invocation template is empty.'));
    const dt = Number(defTimeout);
    const mt = Number(maxTimeout);
    if (!(dt > 0) || !(mt > 0)) return setError(new Error('Timeouts are minutes above 0.'));
    if (mt < dt) return setError(new Error('The maximum timeout must be at least the default timeout.'));
    const body: ProfileInput = {
      name: name.trim(),
      agentType,
      icon,
      invocationTemplate: template,
      shell: shell.trim(),
      defaultTimeout: dt,
      maxTimeout: mt,
      pty,
      enabled,
      acknowledgeDangerous: ack,
      env: env
        .filter((e) => e.name.trim())
        .map((e) => ({ name: e.name.trim(), secret: e.secret, ...(e.stored && !e.value ? {} : { value: e.value }) })),
    };
    setSaving(true);
    setError(null);
    try {
      const r = loaded ? await updateProfile(loaded.id, body) : await createProfile(body);
      setChecks(r.checks);
      toast(`Saved profile "${r.profile.name}"`);
      if (!loaded) navigate(`/settings/profiles/${r.profile.id}`, { replace: true });
      else setLoaded(r.profile);
    } catch (err) {
      setError(err);
      const c = checksOf(err);
      if (c) setChecks(c);
    } finally {
      setSaving(false);
    }
  };

  if (!isNew && !loaded) {
    return (
      <div class="page">
        <PageHead title="Profile" />
        {loadError ? <ErrorBanner error={loadError} prefix="Could not load the profile" /> : <Spinner />}
      </div>
    );
  }

  const previewEnv: Record<string, string> = { PROMPT: samplePrompt, WORKING_DIR: sampleDir };
  for (const e of env) if (e.name) previewEnv[e.name] = e.secret ? '••••••' : e.value;
  let preview: string;
  try {
    preview = displayCommand(template, previewEnv);
  } catch (err) {
    preview = `(cannot preview: ${String(err)})`;
  }
  const dangerousFailed = checks?.some((c) => c.id === 'dangerous-patterns' && !c.ok);

  return (
    <div class="page page-wide">
      <div class="crumbs">
        <a href="#/settings">Settings</a> / profiles
      </div>
      <PageHead title={isNew ? 'New profile' : `Edit ${loaded?.name ?? ''}`}>
        <button type="button" class="btn" id="pf-validate" disabled={validating} onClick={() => void validate()}>
          <Icon name="check" size={14} /> {validating ? 'Validating…' : 'Validate'}
        </button>
        <button type="button" class="btn btn-primary" id="pf-save" disabled={saving} onClick={() => void save()}>
          {saving ? 'Saving…' : 'Save profile'}
        </button>
      </PageHead>
      <div class="editor-grid">
        <form
          class="panel panel-body form-grid"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <div class="form-row">
            <Field label="Name" id="pf-name">
              <input id="pf-name" type="text" value={name} maxLength={64} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Agent type" id="pf-type">
              <select id="pf-type" value={agentType} onChange={(e) => setAgentType((e.target as HTMLSelectElement).value as AgentType)}>
                {AGENT_TYPES.map((t) => (
                  <option value={t}>{t}</option>
                ))}
              </select>
            </Field>
          </div>
          <Field label="Icon" id="pf-icon">
            <div class="icon-picker" role="radiogroup" id="pf-icon">
              {ICONS.map((i) => (
                <button type="button" role="radio" aria-checked={icon === i} class="profile-opt icon-opt" title={i} onClick={() => setIcon(i)}>
                  <ProfileIcon icon={i} size={24} />
                </button>
              ))}
            </div>
          </Field>
          <Field label="Invocation template" id="pf-template" hint={<>Run as <code>{shell || "agent's shell"} -c TEMPLATE</code>. Quote variables: <code>"$PROMPT"</code>.</>}>
            <div class="tpl-wrap">
              <pre class="tpl-hl" aria-hidden="true">
                {highlightTemplate(template)}
              </pre>
              <textarea
                id="pf-template"
                class="tpl-input"
                rows={4}
                spellcheck={false}
                value={template}
                onInput={(e) => {
                  setTemplate((e.target as HTMLTextAreaElement).value);
                  setChecks(null);
                }}
                onScroll={(e) => {
                  const pre = (e.target as HTMLElement).previousElementSibling as HTMLElement | null;
                  if (pre) pre.scrollTop = (e.target as HTMLElement).scrollTop;
                }}
              />
            </div>
          </Field>
          <div class="form-row form-row-3">
            <Field label="Shell" id="pf-shell" hint="Empty: the agent's shell">
              <input id="pf-shell" type="text" class="mono-input" value={shell} placeholder="/bin/bash" onInput={(e) => setShell((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Default timeout (min)" id="pf-default-timeout">
              <input id="pf-default-timeout" type="number" min={1} value={defTimeout} onInput={(e) => setDefTimeout((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Max timeout (min)" id="pf-max-timeout">
              <input id="pf-max-timeout" type="number" min={1} value={maxTimeout} onInput={(e) => setMaxTimeout((e.target as HTMLInputElement).value)} />
            </Field>
          </div>
          <div class="btn-group">
            <label class="check">
              <input id="pf-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled((e.target as HTMLInputElement).checked)} /> Enabled
            </label>
            <label class="check" title="For CLIs that need a terminal">
              <input id="pf-pty" type="checkbox" checked={pty} onChange={(e) => setPty((e.target as HTMLInputElement).checked)} /> Run in a pseudo-terminal
            </label>
            {dangerousFailed || ack ? (
              <label class="check danger-ack">
                <input id="pf-ack" type="checkbox" checked={ack} onChange={(e) => setAck((e.target as HTMLInputElement).checked)} /> I know this template runs a dangerous command
              </label>
            ) : null}
          </div>
          <fieldset class="vars">
            <legend>Environment variables</legend>
            {env.length === 0 ? <p class="hint">None. Add API keys and options the CLI reads; mark keys secret (stored encrypted, never shown again).</p> : null}
            {env.map((row, i) => (
              <div class="env-row">
                <input type="text" class="mono-input" aria-label="Variable name" placeholder="NAME" value={row.name} onInput={(e) => setEnv(env.map((r, j) => (j === i ? { ...r, name: (e.target as HTMLInputElement).value.toUpperCase() } : r)))} />
                <input
                  type={(row.secret ? 'password' : 'text') as 'text'}
                  aria-label="Value"
                  placeholder={row.stored ? 'stored — type to replace' : 'value'}
                  value={row.value}
                  onInput={(e) => setEnv(env.map((r, j) => (j === i ? { ...r, value: (e.target as HTMLInputElement).value } : r)))}
                />
                <label class="check small">
                  <input type="checkbox" checked={row.secret} onChange={(e) => setEnv(env.map((r, j) => (j === i ? { ...r, secret: (e.target as HTMLInputElement).checked } : r)))} /> secret
                </label>
                <button type="button" class="icon-btn" aria-label="Remove" onClick={() => setEnv(env.filter((_, j) => j !== i))}>
                  <Icon name="x" />
                </button>
              </div>
            ))}
            <div>
              <button type="button" class="btn btn-small" onClick={() => setEnv([...env, { name: '', value: '', secret: false, stored: false }])}>
                <Icon name="plus" size={12} /> Add variable
              </button>
            </div>
          </fieldset>
          <ErrorBanner error={error} />
        </form>

        <aside class="editor-side">
          <div class="panel">
            <div class="panel-head">
              <h2>Checks</h2>
            </div>
            <div class="panel-body" id="pf-checks">
              {checks ? <Checks checks={checks} /> : <p class="muted">Validate to see each check: prompt present, quotes balanced, substitutions closed, dangerous patterns, working directory used.</p>}
            </div>
          </div>
          <div class="panel">
            <div class="panel-head">
              <h2>Preview</h2>
            </div>
            <div class="panel-body form-grid">
              <div class="form-row">
                <Field label="Sample prompt" id="pf-sample-prompt">
                  <input id="pf-sample-prompt" type="text" value={samplePrompt} onInput={(e) => setSamplePrompt((e.target as HTMLInputElement).value)} />
                </Field>
                <Field label="Sample directory" id="pf-sample-dir">
                  <input id="pf-sample-dir" type="text" class="mono-input" value={sampleDir} onInput={(e) => setSampleDir((e.target as HTMLInputElement).value)} />
                </Field>
              </div>
              <pre class="code-block" id="pf-preview">
                {preview}
              </pre>
            </div>
          </div>
          <div class="panel">
            <div class="panel-head">
              <h2>Variable reference</h2>
            </div>
            <div class="panel-body">
              <dl class="kv">
                <dt class="mono">$PROMPT</dt>
                <dd>the prompt text, its {'{{VARIABLES}}'} filled in (for a file reference: the file's content)</dd>
                <dt class="mono">$WORKING_DIR</dt>
                <dd>the run's working directory, resolved and checked against the agent's allowed roots</dd>
                {env
                  .filter((e) => e.name)
                  .map((e) => (
                    <>
                      <dt class="mono">${e.name}</dt>
                      <dd>{e.secret ? 'secret variable of this profile' : 'variable of this profile'}</dd>
                    </>
                  ))}
              </dl>
              <p class="hint">Values reach the shell as environment variables, never pasted into the template, so a prompt cannot inject shell code.</p>
            </div>
          </div>
        </aside>
      </div>
    </div>
  );
}
