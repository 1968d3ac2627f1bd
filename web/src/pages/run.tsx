/**
 * Run: compose on the left (profile, agent, working directory, prompt or file reference,
 * variables, timeout), live output on the right (status, elapsed time, Kill). Ctrl+Enter runs.
 * `?prompt=ID` loads a saved prompt; `?run=ID` shows a run; `?agent=`, `?profile=`, `?dir=` preset.
 *
 * Test hooks: `[data-profile=SLUG]`, `#run-agent`, `#run-dir`, `#run-prompt`, `#run-file`,
 * `#run-timeout`, `#run-submit`, `#run-dry`, `#run-save`, `#run-kill`, `#run-status`,
 * `#run-elapsed`, `#dry-run-result`, `#run-error`, `[data-var=NAME]`.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fillVariables, referencedVariables, type DryRunResponse, type ProfileView, type PromptView, type RunRequest, type RunView } from '@rexec/shared';
import { createPrompt, dryRun, errorText, getPrompt, getRunnerSettings, killRun, listPrompts, listRuns, startRun, updatePrompt } from '../api.js';
import { Markdown } from '../components/markdown.js';
import { OutputViewer } from '../components/output-viewer.js';
import { ErrorBanner, Field, Icon, Modal, ProfileIcon, Spinner, StatusBadge, clock, elapsedOf, isActiveStatus, toast, useNow } from '../components/ui.js';
import { uniqueDirs, useAgents, useProfiles } from '../data.js';
import { useRunOutput } from '../run-output.js';

const LAST_AGENT = 'rexec.run.agent';
const LAST_PROFILE = 'rexec.run.profile';

export function RunPage({ query }: { query: URLSearchParams }) {
  const { agents, error: agentsError } = useAgents();
  const { profiles, error: profilesError } = useProfiles();
  const [prompt, setPrompt] = useState<PromptView | null>(null);
  const [profileId, setProfileId] = useState<string>('');
  const [agent, setAgent] = useState<string>(query.get('agent') ?? localStorage.getItem(LAST_AGENT) ?? '');
  const [dir, setDir] = useState(query.get('dir') ?? '');
  const [type, setType] = useState<'inline' | 'file-reference'>('inline');
  const [content, setContent] = useState('');
  const [filePath, setFilePath] = useState('');
  const [tab, setTab] = useState<'write' | 'preview'>('write');
  const [vars, setVars] = useState<Record<string, string>>({});
  const [timeout, setTimeoutMin] = useState<number | null>(null);
  const [dirs, setDirs] = useState<string[]>([]);
  const [busy, setBusy] = useState<'' | 'run' | 'dry' | 'kill'>('');
  const [formError, setFormError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [dry, setDry] = useState<DryRunResponse | null>(null);
  const [saving, setSaving] = useState(false);
  const [runId, setRunId] = useState<string | null>(query.get('run'));
  const [initialRun, setInitialRun] = useState<RunView | null>(null);
  const out = useRunOutput(runId, initialRun);
  const now = useNow(500);
  const promptRef = useRef<HTMLTextAreaElement>(null);

  // A saved prompt to start from.
  useEffect(() => {
    const id = query.get('prompt');
    if (!id) return;
    getPrompt(id)
      .then((p) => {
        setPrompt(p);
        setType(p.type);
        if (p.type === 'file-reference') setFilePath(p.content.replace(/^@/, ''));
        else setContent(p.content);
        if (p.workingDirectory) setDir(p.workingDirectory);
        if (p.agentProfileId) setProfileId(p.agentProfileId);
        if (p.timeout) setTimeoutMin(p.timeout);
        setVars(Object.fromEntries(p.variables.map((v) => [v.name, v.default ?? ''])));
      })
      .catch((err: unknown) => setFormError(new Error(`Could not load the saved prompt: ${errorText(err)}`)));
  }, []);

  // Directory suggestions: saved prompts, recent runs, the default.
  useEffect(() => {
    Promise.all([listPrompts({ limit: 500 }).catch(() => null), listRuns({ limit: 200 }).catch(() => null), getRunnerSettings().catch(() => null)]).then(([p, r, s]) => {
      setDirs(uniqueDirs(p?.items.map((x) => x.workingDirectory) ?? [], r?.items.map((x) => x.workingDirectory) ?? [], [s?.defaultWorkingDirectory]));
      if (!dir && !query.get('prompt') && s?.defaultWorkingDirectory) setDir(s.defaultWorkingDirectory);
    });
  }, []);

  const enabled = useMemo(() => (profiles ?? []).filter((p) => p.enabled), [profiles]);
  // Default profile: the query, the last one used, else the first enabled one.
  useEffect(() => {
    if (!profiles || profileId) return;
    const want = query.get('profile') ?? localStorage.getItem(LAST_PROFILE);
    const p = enabled.find((x) => x.id === want || x.slug === want) ?? enabled[0];
    if (p) setProfileId(p.id);
  }, [profiles]);
  const profile: ProfileView | undefined = profiles?.find((p) => p.id === profileId || p.slug === profileId);
  useEffect(() => {
    if (!agents || agents.some((a) => a.id === agent || a.name === agent)) return;
    const online = agents.find((a) => a.status === 'online') ?? agents[0];
    if (online) setAgent(online.id);
  }, [agents]);
  const agentView = agents?.find((a) => a.id === agent || a.name === agent);

  const maxTimeout = profile?.maxTimeout ?? 120;
  const effTimeout = Math.min(timeout ?? prompt?.timeout ?? profile?.defaultTimeout ?? 30, maxTimeout);

  const text = type === 'inline' ? content : `@${filePath.trim()}`;
  const varNames = useMemo(() => {
    const declared = prompt?.variables.map((v) => v.name) ?? [];
    return [...new Set([...declared, ...(type === 'inline' ? referencedVariables(content) : [])])];
  }, [content, type, prompt]);
  const filled = type === 'inline' ? fillVariables(content, vars, prompt?.variables ?? []) : null;

  const request = (): RunRequest | null => {
    const errs: Record<string, string> = {};
    if (!agent) errs.agent = 'Pick an agent to run on.';
    if (!profile) errs.profile = 'Pick a profile.';
    if (type === 'inline' && !content.trim()) errs.prompt = 'Write a prompt first.';
    if (type === 'file-reference' && !filePath.trim()) errs.file = 'Give the path of the prompt file on the agent.';
    if (filled && filled.missing.length) errs.vars = `Fill in ${filled.missing.map((m) => `{{${m}}}`).join(', ')}.`;
    setFieldErrors(errs);
    if (Object.keys(errs).length) return null;
    const variables = Object.fromEntries(varNames.filter((n) => vars[n] !== undefined && vars[n] !== '').map((n) => [n, vars[n]!]));
    const unchanged = prompt && prompt.type === type && prompt.content === text;
    return {
      ...(unchanged ? { promptId: prompt.id } : { prompt: text, type }),
      profile: profile!.id,
      agent,
      ...(dir.trim() ? { workingDirectory: dir.trim() } : {}),
      timeout: effTimeout,
      variables,
    };
  };

  const run = async () => {
    const body = request();
    if (!body || busy) return;
    setBusy('run');
    setFormError(null);
    setDry(null);
    try {
      const r = await startRun(body);
      localStorage.setItem(LAST_AGENT, agent);
      localStorage.setItem(LAST_PROFILE, profile!.slug);
      setInitialRun(r);
      setRunId(r.id);
    } catch (err) {
      setFormError(err);
    } finally {
      setBusy('');
    }
  };

  const doDry = async () => {
    const body = request();
    if (!body || busy) return;
    setBusy('dry');
    setFormError(null);
    try {
      setDry(await dryRun(body));
    } catch (err) {
      setFormError(err);
      setDry(null);
    } finally {
      setBusy('');
    }
  };

  const kill = async () => {
    if (!runId) return;
    setBusy('kill');
    try {
      await killRun(runId);
      toast('Kill sent: the run stops in a moment');
    } catch (err) {
      toast(`Could not kill the run: ${errorText(err)}`, 'error');
    } finally {
      setBusy('');
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      void run();
    }
  };

  const r = out.run;
  const active = r ? isActiveStatus(r.status) : false;
  const elapsed = r ? elapsedOf(r, now) : null;

  return (
    <div class="run-page" onKeyDown={onKey}>
      <form
        class="run-form"
        aria-label="Compose a run"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div class="run-form-head">
          <h1>Run</h1>
          {prompt ? (
            <span class="badge-plain" title="Loaded from saved prompts">
              <Icon name="prompts" size={12} /> {prompt.name}
            </span>
          ) : null}
        </div>
        <ErrorBanner error={agentsError || profilesError} prefix="Could not load" />

        <Field label="Profile" error={fieldErrors.profile}>
          {!profiles ? (
            <Spinner />
          ) : enabled.length === 0 ? (
            <p class="hint">
              No enabled profile. <a href="#/settings">Create or enable one in Settings.</a>
            </p>
          ) : (
            <div class="profile-picker" role="radiogroup" aria-label="Profile">
              {enabled.map((p) => (
                <button
                  type="button"
                  role="radio"
                  aria-checked={p.id === profile?.id}
                  class="profile-opt"
                  data-profile={p.slug}
                  title={p.invocationTemplate}
                  onClick={() => {
                    setProfileId(p.id);
                    setTimeoutMin(null);
                  }}
                >
                  <ProfileIcon icon={p.icon} agentType={p.agentType} />
                  <span>{p.name}</span>
                </button>
              ))}
            </div>
          )}
        </Field>

        <div class="form-row">
          <Field label="Agent" id="run-agent" error={fieldErrors.agent} hint={agentView && agentView.status !== 'online' ? undefined : undefined}>
            <select id="run-agent" value={agentView?.id ?? agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
              {!agents?.length ? <option value="">{agents ? 'No agents' : 'Loading…'}</option> : null}
              {agents?.map((a) => (
                <option value={a.id}>
                  {a.name}
                  {a.status === 'online' ? '' : ' (offline)'}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Working directory" id="run-dir" hint="Empty: the agent's default">
            <input id="run-dir" type="text" class="mono-input" list="run-dir-list" value={dir} placeholder="/srv/project" spellcheck={false} autocomplete="off" onInput={(e) => setDir((e.target as HTMLInputElement).value)} />
            <datalist id="run-dir-list">
              {dirs.map((d) => (
                <option value={d} />
              ))}
            </datalist>
          </Field>
        </div>
        {agentView && agentView.status !== 'online' ? (
          <p class="banner banner-warn" data-testid="agent-offline-warning">
            {agentView.name} is offline: a run would wait in the queue until it reconnects. Pick an online agent, or start the agent (<code>rexec-agent start</code>).
          </p>
        ) : null}

        <div class="field">
          <div class="label-row">
            <label for={type === 'inline' ? 'run-prompt' : 'run-file'}>Prompt</label>
            <div class="seg" role="group" aria-label="Prompt source">
              <button type="button" aria-pressed={type === 'inline'} onClick={() => setType('inline')} data-testid="prompt-inline">
                Write
              </button>
              <button type="button" aria-pressed={type === 'file-reference'} onClick={() => setType('file-reference')} data-testid="prompt-file">
                File on the agent
              </button>
            </div>
            {type === 'inline' ? (
              <div class="seg" role="group" aria-label="Editor view">
                <button type="button" aria-pressed={tab === 'write'} onClick={() => setTab('write')}>
                  Edit
                </button>
                <button type="button" aria-pressed={tab === 'preview'} onClick={() => setTab('preview')} data-testid="prompt-preview-tab">
                  Preview
                </button>
              </div>
            ) : null}
          </div>
          {type === 'inline' ? (
            tab === 'write' ? (
              <textarea
                id="run-prompt"
                ref={promptRef}
                class="prompt-editor"
                rows={10}
                value={content}
                placeholder={profile?.agentType === 'custom' ? 'A shell command, e.g. ls -la && git status' : 'Describe the task. Use {{NAME}} for variables.'}
                spellcheck={profile?.agentType !== 'custom'}
                onInput={(e) => setContent((e.target as HTMLTextAreaElement).value)}
              />
            ) : (
              <div class="prompt-preview" data-testid="prompt-preview">
                <Markdown text={filled?.text ?? content} />
              </div>
            )
          ) : (
            <div class="file-ref">
              <span class="at">@</span>
              <input id="run-file" type="text" class="mono-input" value={filePath} placeholder="prompts/refactor.md (relative to the working directory) or /abs/path" spellcheck={false} onInput={(e) => setFilePath((e.target as HTMLInputElement).value)} />
            </div>
          )}
          {fieldErrors.prompt || fieldErrors.file ? (
            <p class="field-error" role="alert">
              {fieldErrors.prompt ?? fieldErrors.file}
            </p>
          ) : (
            <p class="hint">{type === 'inline' ? 'Markdown. Ctrl+Enter runs.' : 'The agent reads the file at run time.'}</p>
          )}
        </div>

        {varNames.length ? (
          <fieldset class="vars">
            <legend>Variables</legend>
            {varNames.map((n) => {
              const decl = prompt?.variables.find((v) => v.name === n);
              return (
                <label class="var-row">
                  <code>{`{{${n}}}`}</code>
                  <input type="text" data-var={n} value={vars[n] ?? ''} placeholder={decl?.default ?? decl?.description ?? 'value'} onInput={(e) => setVars({ ...vars, [n]: (e.target as HTMLInputElement).value })} />
                </label>
              );
            })}
            {fieldErrors.vars ? <p class="field-error">{fieldErrors.vars}</p> : null}
          </fieldset>
        ) : null}

        <Field label={`Timeout: ${effTimeout} min`} id="run-timeout" hint={profile ? `The profile allows up to ${maxTimeout} min (default ${profile.defaultTimeout}).` : undefined}>
          <input id="run-timeout" type="range" min={1} max={maxTimeout} step={1} value={effTimeout} onInput={(e) => setTimeoutMin(Number((e.target as HTMLInputElement).value))} />
        </Field>

        {formError ? (
          <p class="banner banner-error" role="alert" id="run-error">
            {errorText(formError)}
          </p>
        ) : null}

        <div class="run-actions">
          <button type="submit" id="run-submit" class="btn btn-primary" disabled={busy === 'run'}>
            <Icon name="run" size={14} /> {busy === 'run' ? 'Starting…' : 'Run now'}
          </button>
          <button type="button" id="run-dry" class="btn" disabled={busy === 'dry'} onClick={() => void doDry()}>
            Dry run
          </button>
          <button type="button" id="run-save" class="btn" onClick={() => setSaving(true)}>
            {prompt ? 'Save prompt…' : 'Save as prompt…'}
          </button>
        </div>

        {dry ? (
          <div class="dry-run panel" id="dry-run-result" data-testid="dry-run-result">
            <div class="panel-head">
              <h2>Dry run: what would run</h2>
              <div class="spacer" />
              <button type="button" class="icon-btn" aria-label="Close the dry run" onClick={() => setDry(null)}>
                <Icon name="x" />
              </button>
            </div>
            <div class="panel-body">
              <pre class="code-block" data-testid="dry-run-command">{dry.command}</pre>
              <dl class="kv">
                <dt>Shell</dt>
                <dd class="mono">{dry.shell || "the agent's shell"}</dd>
                <dt>Directory</dt>
                <dd class="mono">{dry.workingDirectory || "the agent's default"}</dd>
                <dt>Timeout</dt>
                <dd>{dry.timeoutMinutes} min</dd>
                {Object.entries(dry.env).map(([k, v]) => (
                  <>
                    <dt class="mono">${k}</dt>
                    <dd class="mono clip-2">{v}</dd>
                  </>
                ))}
              </dl>
              <Checks checks={dry.checks} />
            </div>
          </div>
        ) : null}
      </form>

      <div class="run-output">
        <OutputViewer
          runId={runId}
          raw={out.raw}
          version={out.version}
          marks={out.marks}
          live={active}
          idle={
            <div>
              <Icon name="run" size={28} />
              <p>Run a prompt to see output here</p>
            </div>
          }
          head={
            r ? (
              <>
                <span id="run-status" data-status={r.status}>
                  <StatusBadge status={r.status} />
                </span>
                <span class="elapsed mono" id="run-elapsed" title="Elapsed">
                  {elapsed === null ? '—' : clock(elapsed)}
                </span>
                <span class="muted clip-1">
                  {r.profileName ?? 'profile'} on {r.agentName ?? r.agentId}
                  {r.exitCode !== null ? ` · exit ${r.exitCode}` : ''}
                  {r.signal ? ` · ${r.signal}` : ''}
                </span>
                {out.follow === 'reconnecting' ? <span class="badge-plain" data-testid="follow-state">reconnecting…</span> : null}
              </>
            ) : runId ? (
              <Spinner />
            ) : (
              <span class="muted">Output</span>
            )
          }
          actions={
            r ? (
              <>
                {active ? (
                  <button type="button" id="run-kill" class="btn btn-small btn-danger" disabled={busy === 'kill'} onClick={() => void kill()}>
                    <Icon name="stop" size={12} /> Kill
                  </button>
                ) : null}
                <a class="btn btn-small" href={`#/runs/${r.id}`} title="Details of this run">
                  Details
                </a>
              </>
            ) : null
          }
        />
        {r?.statusReason && !active ? (
          <p class="banner banner-warn run-reason" data-testid="status-reason">
            {r.statusReason}
          </p>
        ) : null}
      </div>

      {saving ? (
        <SavePromptDialog
          existing={prompt}
          body={{ content: text, type, agentProfileId: profile?.id ?? null, workingDirectory: dir.trim(), timeout: timeout ?? prompt?.timeout ?? null }}
          variables={varNames.map((n) => ({ name: n, default: vars[n] || prompt?.variables.find((v) => v.name === n)?.default }))}
          onClose={() => setSaving(false)}
          onSaved={(p) => {
            setPrompt(p);
            setSaving(false);
          }}
        />
      ) : null}
    </div>
  );
}

export function Checks({ checks }: { checks: { id: string; ok: boolean; severity: string; message: string }[] }) {
  return (
    <ul class="checks" data-testid="checks">
      {checks.map((c) => (
        <li class={`check-item ${c.ok ? 'ok' : c.severity}`} data-check={c.id} data-ok={String(c.ok)}>
          <span class="check-glyph" aria-hidden="true">
            {c.ok ? <Icon name="check" size={13} /> : c.severity === 'error' ? <Icon name="x" size={13} /> : '!'}
          </span>
          <span>{c.message}</span>
        </li>
      ))}
    </ul>
  );
}

function SavePromptDialog({
  existing,
  body,
  variables,
  onClose,
  onSaved,
}: {
  existing: PromptView | null;
  body: { content: string; type: 'inline' | 'file-reference'; agentProfileId: string | null; workingDirectory: string; timeout: number | null };
  variables: { name: string; default?: string }[];
  onClose: () => void;
  onSaved: (p: PromptView) => void;
}) {
  const [name, setName] = useState(existing?.name ?? '');
  const [tags, setTags] = useState((existing?.tags ?? []).join(', '));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const save = async (asNew: boolean) => {
    if (!name.trim()) return setError(new Error('Give the prompt a name.'));
    if (!body.content.trim() || body.content === '@') return setError(new Error('The prompt is empty: write it first.'));
    setBusy(true);
    setError(null);
    const input = {
      name: name.trim(),
      ...body,
      tags: tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      variables: variables.map((v) => ({ name: v.name, ...(v.default ? { default: v.default } : {}) })),
    };
    try {
      const p = existing && !asNew ? await updatePrompt(existing.id, input) : await createPrompt(input);
      toast(`Saved prompt "${p.name}"`);
      onSaved(p);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={existing ? 'Save prompt' : 'Save as a prompt'}
      onClose={onClose}
      testid="save-prompt-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          {existing ? (
            <button type="button" class="btn" disabled={busy} onClick={() => void save(true)}>
              Save as new
            </button>
          ) : null}
          <button type="button" class="btn btn-primary" id="save-prompt-submit" disabled={busy} onClick={() => void save(false)}>
            {existing ? 'Update' : 'Save'}
          </button>
        </>
      }
    >
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void save(false);
        }}
      >
        <Field label="Name" id="save-prompt-name">
          <input id="save-prompt-name" type="text" value={name} maxLength={128} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Tags" id="save-prompt-tags" hint="Comma separated, e.g. nightly, backend">
          <input id="save-prompt-tags" type="text" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
        </Field>
        <p class="hint">Saves the prompt text, profile, working directory, timeout and variables.</p>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}
