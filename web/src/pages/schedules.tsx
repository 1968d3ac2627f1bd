/**
 * Schedules: table (name, prompt, cron in words, agent or tag, enabled toggle, next run
 * countdown, last status, Run now / Edit / Delete) and the create / edit form with a schedule
 * builder (hourly, daily at HH:MM, weekdays, weekly, custom cron), time zone, target, overlap and
 * missed policies, and a live preview of the next five fire times from the relay (an invalid
 * expression shows the relay's own message in place). Conflicts the relay finds come back as
 * warnings and are shown after saving. `?prompt=ID` opens the builder for that saved prompt.
 *
 * Test hooks: `[data-testid=not-available]`, `#schedules-table`, `tr[data-schedule-name]`,
 * `#new-schedule`, `#schedule-form`, `#sched-name`, `#sched-prompt`, `[data-preset=...]`,
 * `#sched-time`, `#sched-cron`, `#sched-tz`, `#sched-target-agent|tag`, `#sched-agent`,
 * `#sched-tag`, `#sched-overlap`, `#sched-missed`, `#sched-save`, `[data-testid=cron-preview]`,
 * `[data-testid=cron-error]`, `[data-testid=schedule-warnings]`, `[data-action=run-now|edit|delete]`,
 * `[data-testid=schedule-row-error]`.
 */
import type { AgentView, PromptView, ScheduleConflict } from '@rexec/shared';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, errorText, listAgents, listPrompts } from '../api.js';
import { Confirm, Empty, ErrorBanner, Field, Icon, Modal, NotAvailable, PageHead, Spinner, StatusBadge, toast, useAsync, useNow, useRowActions } from '../components/ui.js';
import { SCHEDULE_EVENTS, useLiveRefresh } from '../components/live.js';
import { href, navigate } from '../nav.js';
import { countdown, createSchedule, cronInWords, deleteSchedule, listSchedules, previewCron, runScheduleNow, schedulesAvailable, setScheduleEnabled, updateSchedule, type ScheduleView } from '../schedules-api.js';

export function SchedulesPage({ query }: { query?: URLSearchParams }) {
  const avail = useAsync(() => schedulesAvailable(), []);
  const data = useAsync(async () => ((await schedulesAvailable()) ? listSchedules() : null), []);
  useLiveRefresh([...SCHEDULE_EVENTS, 'run.created', 'run.finished'], () => avail.data && data.reload(), (e) => !('run' in e) || !!e.run.scheduleId);
  const now = useNow(1000);
  const presetPrompt = query?.get('prompt') ?? '';
  const [editing, setEditing] = useState<ScheduleView | 'new' | null>(presetPrompt ? 'new' : null);
  const [warnings, setWarnings] = useState<{ name: string; items: ScheduleConflict[] } | null>(null);
  const [deleting, setDeleting] = useState<ScheduleView | null>(null);

  if (avail.loading && avail.data === undefined)
    return (
      <div class="page">
        <PageHead title="Schedules" />
        <Spinner />
      </div>
    );
  if (avail.data === false) {
    return (
      <div class="page">
        <PageHead title="Schedules" />
        <NotAvailable what="Schedules" api="/api/schedules" />
      </div>
    );
  }
  const items = data.data ?? [];
  const closeForm = () => {
    setEditing(null);
    if (presetPrompt) navigate('/schedules', { replace: true });
  };
  const rows = useRowActions(data.reload);
  const { busy, rowError, setRowError } = rows;
  const act = (s: ScheduleView, fn: () => Promise<void>) => rows.act(s.id, fn);
  return (
    <div class="page page-wide">
      <PageHead title="Schedules" sub={data.data ? `${items.length} schedule${items.length === 1 ? '' : 's'}` : undefined}>
        <button type="button" class="btn btn-primary" id="new-schedule" onClick={() => setEditing('new')}>
          <Icon name="plus" size={14} /> New schedule
        </button>
      </PageHead>
      <ErrorBanner error={data.error || avail.error} onRetry={data.reload} prefix="Could not load schedules" />
      {warnings ? (
        <div class="banner banner-warn" role="status" data-testid="schedule-warnings">
          <div>
            <strong>Saved "{warnings.name}", with {warnings.items.length === 1 ? 'a conflict' : `${warnings.items.length} conflicts`}:</strong>
            <ul class="warn-list">
              {warnings.items.map((w) => (
                <li>{w.message}</li>
              ))}
            </ul>
          </div>
          <button type="button" class="btn btn-small" onClick={() => setWarnings(null)}>
            Dismiss
          </button>
        </div>
      ) : null}
      {!data.data ? (
        data.error ? null : <Spinner />
      ) : items.length === 0 ? (
        <Empty
          title="No schedules yet"
          testid="schedules-empty"
          action={
            <button type="button" class="btn btn-primary" onClick={() => setEditing('new')}>
              Schedule a saved prompt
            </button>
          }
        >
          Run a saved prompt on a timetable: every hour, each weekday at 09:00, or any cron expression. Its next run and last result show up here.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" id="schedules-table">
            <thead>
              <tr>
                <th>Enabled</th>
                <th>Name</th>
                <th>Prompt</th>
                <th>When</th>
                <th>Target</th>
                <th>Next run</th>
                <th>Last run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((s) => [
                <tr key={s.id} data-schedule-name={s.name} data-enabled={String(s.enabled)}>
                  <td>
                    <label class="switch" title={s.enabled ? 'Disable' : 'Enable'}>
                      <input
                        type="checkbox"
                        checked={s.enabled}
                        disabled={busy === s.id}
                        aria-label={`${s.name} enabled`}
                        onChange={(e) => {
                          const on = (e.target as HTMLInputElement).checked;
                          void act(s, async () => {
                            const r = await setScheduleEnabled(s.id, on);
                            if (r.warnings.length) setWarnings({ name: s.name, items: r.warnings });
                          });
                        }}
                      />
                    </label>
                  </td>
                  <td>
                    <strong>{s.name}</strong>
                    {s.description ? <div class="muted small clip-1">{s.description}</div> : null}
                  </td>
                  <td>{s.promptId ? <a href={href('/prompts', { q: s.promptName ?? undefined })}>{s.promptName ?? s.promptId}</a> : <span class="muted">deleted prompt</span>}</td>
                  <td title={`${s.cronExpression} (${s.timezone})`}>
                    {cronInWords(s.cronExpression)} <span class="muted small">{s.timezone}</span>
                  </td>
                  <td>{s.agentName ? s.agentName : s.agentTag ? <span class="chip">tag {s.agentTag}</span> : '—'}</td>
                  <td title={s.nextRunTime ? new Date(s.nextRunTime).toLocaleString() : undefined} data-testid="next-run">
                    {s.enabled ? countdown(s.nextRunTime, now) : <span class="muted">paused</span>}
                  </td>
                  <td>{s.lastRunId ? <a href={`#/runs/${encodeURIComponent(s.lastRunId)}`}><StatusBadge status={s.lastRunStatus} /></a> : <StatusBadge status={s.lastRunStatus} />}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="btn btn-small"
                      data-action="run-now"
                      disabled={busy === s.id}
                      onClick={() =>
                        void act(s, async () => {
                          const r = await runScheduleNow(s.id);
                          toast(r.runs.length ? `Started ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} of "${s.name}"` : `Nothing started: ${r.skipped.map((x) => `${x.agent}: ${x.reason}`).join('; ') || 'no agent'}`, r.runs.length ? 'ok' : 'error');
                        })
                      }
                    >
                      <Icon name="run" size={12} /> Run now
                    </button>
                    <button type="button" class="icon-btn" data-action="edit" title="Edit" aria-label={`Edit ${s.name}`} onClick={() => setEditing(s)}>
                      <Icon name="edit" />
                    </button>
                    <button type="button" class="icon-btn icon-danger" data-action="delete" title="Delete" aria-label={`Delete ${s.name}`} onClick={() => setDeleting(s)}>
                      <Icon name="trash" />
                    </button>
                  </td>
                </tr>,
                rowError?.id === s.id ? (
                  <tr key={`${s.id}-err`} class="row-error">
                    <td colSpan={8}>
                      <p class="banner banner-error" role="alert" data-testid="schedule-row-error">
                        <span>
                          {s.name}: {rowError.text.replace(/; pass "force": true to start another run anyway$/, '.')}
                        </span>
                        <span>
                          {/still (queued|running)/.test(rowError.text) ? (
                            <button
                              type="button"
                              class="btn btn-small"
                              data-action="run-anyway"
                              onClick={() =>
                                void act(s, async () => {
                                  const r = await runScheduleNow(s.id, true);
                                  toast(`Started ${r.runs.length} more run${r.runs.length === 1 ? '' : 's'} of "${s.name}"`);
                                })
                              }
                            >
                              Run another anyway
                            </button>
                          ) : null}{' '}
                          <button type="button" class="btn btn-small" onClick={() => setRowError(null)}>
                            Dismiss
                          </button>
                        </span>
                      </p>
                    </td>
                  </tr>
                ) : null,
              ])}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <ScheduleForm
          schedule={editing === 'new' ? null : editing}
          presetPrompt={presetPrompt}
          onClose={closeForm}
          onSaved={(s, w) => {
            closeForm();
            data.reload();
            setWarnings(w.length ? { name: s.name, items: w } : null);
            toast(`Saved "${s.name}"`);
          }}
        />
      ) : null}
      {deleting ? (
        <Confirm
          title="Delete schedule"
          confirmLabel="Delete"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await deleteSchedule(deleting.id);
            toast(`Deleted "${deleting.name}"`);
            data.reload();
          }}
        >
          Delete <strong>{deleting.name}</strong>? Its past runs stay in the history.
        </Confirm>
      ) : null}
    </div>
  );
}

// ---- builder -------------------------------------------------------------------------------

type Preset = 'hourly' | 'daily' | 'weekdays' | 'weekly' | 'custom';
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

interface BuilderState {
  preset: Preset;
  minute: number;
  time: string; // HH:MM
  days: number[];
  custom: string;
}

function cronOf(b: BuilderState): string {
  const [h, m] = b.time.split(':').map((x) => Number(x) || 0) as [number, number];
  switch (b.preset) {
    case 'hourly':
      return `${b.minute} * * * *`;
    case 'daily':
      return `${m} ${h} * * *`;
    case 'weekdays':
      return `${m} ${h} * * 1-5`;
    case 'weekly':
      return `${m} ${h} * * ${(b.days.length ? [...b.days].sort() : [1]).join(',')}`;
    default:
      return b.custom.trim();
  }
}

/** Reads an expression back into the builder when it has one of the preset shapes. */
function builderOf(cron: string): BuilderState {
  const base: BuilderState = { preset: 'custom', minute: 0, time: '09:00', days: [1], custom: cron };
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return base;
  const [mi, ho, dom, mon, dow] = f as [string, string, string, string, string];
  if (!/^\d+$/.test(mi) || dom !== '*' || mon !== '*') return base;
  if (ho === '*' && dow === '*') return { ...base, preset: 'hourly', minute: Number(mi) };
  if (!/^\d+$/.test(ho)) return base;
  const time = `${ho.padStart(2, '0')}:${mi.padStart(2, '0')}`;
  if (dow === '*') return { ...base, preset: 'daily', time };
  if (dow === '1-5') return { ...base, preset: 'weekdays', time };
  if (/^[0-6](,[0-6])*$/.test(dow)) return { ...base, preset: 'weekly', time, days: dow.split(',').map(Number) };
  return base;
}

function zones(): string[] {
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let all: string[] = [];
  try {
    all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  } catch {
    all = [];
  }
  return Array.from(new Set(['UTC', local, ...all]));
}

function ScheduleForm({ schedule, presetPrompt, onClose, onSaved }: { schedule: ScheduleView | null; presetPrompt: string; onClose: () => void; onSaved: (s: ScheduleView, warnings: ScheduleConflict[]) => void }) {
  const refs = useAsync(async () => {
    const [p, a] = await Promise.all([listPrompts({ limit: 500 }), listAgents()]);
    return { prompts: p.items, agents: a };
  }, []);
  const prompts: PromptView[] = refs.data?.prompts ?? [];
  const agents: AgentView[] = refs.data?.agents ?? [];
  const tags = useMemo(() => Array.from(new Set(agents.flatMap((a) => a.tags))).sort(), [agents]);
  const [name, setName] = useState(schedule?.name ?? '');
  const [promptId, setPromptId] = useState(schedule?.promptId ?? presetPrompt);
  const [b, setB] = useState<BuilderState>(() => (schedule ? builderOf(schedule.cronExpression) : { preset: 'daily', minute: 0, time: '09:00', days: [1], custom: '0 9 * * *' }));
  const [tz, setTz] = useState(schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
  const [targetKind, setTargetKind] = useState<'agent' | 'tag'>(schedule?.agentTag ? 'tag' : 'agent');
  const [agent, setAgent] = useState(schedule?.agentId ?? '');
  const [tag, setTag] = useState(schedule?.agentTag ?? '');
  const [overlap, setOverlap] = useState(schedule?.overlapPolicy ?? 'skip');
  const [missed, setMissed] = useState(schedule?.missedPolicy ?? 'skip');
  const [description, setDescription] = useState(schedule?.description ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const cron = cronOf(b);

  // Defaults once the lists arrive: the prompt's name, the first online agent.
  useEffect(() => {
    if (!refs.data) return;
    if (!schedule && !agent) setAgent(agents.find((a) => a.status === 'online')?.id ?? agents[0]?.id ?? '');
    if (!schedule && !tag && tags[0]) setTag(tags[0]);
    if (!schedule && promptId && !name) {
      const p = prompts.find((x) => x.id === promptId);
      if (p) setName(`${p.name.replace(/[^A-Za-z0-9 ._:-]/g, '').trim() || 'prompt'} schedule`.slice(0, 60));
    }
  }, [refs.data]);

  // The live preview: debounced, from the relay (its cron engine is the one that fires).
  // Each answer is kept with the expression and zone it is for, so a stale one is never shown.
  const [preview, setPreview] = useState<{ key: string; local: string[] } | null>(null);
  const [previewError, setPreviewError] = useState<{ key: string; text: string } | null>(null);
  const previewKey = `${cron}|${tz}`;
  useEffect(() => {
    if (!cron) {
      setPreview(null);
      setPreviewError({ key: previewKey, text: 'Write a cron expression: minute hour day-of-month month day-of-week.' });
      return;
    }
    const ac = new AbortController();
    const id = setTimeout(() => {
      previewCron(cron, tz, 5, ac.signal)
        .then((r) => {
          setPreview({ key: previewKey, local: r.local });
          setPreviewError(null);
        })
        .catch((err: unknown) => {
          if (ac.signal.aborted) return;
          setPreview(null);
          setPreviewError({ key: previewKey, text: err instanceof ApiError ? err.message : errorText(err) });
        });
    }, 250);
    return () => {
      clearTimeout(id);
      ac.abort();
    };
  }, [cron, tz]);

  const save = async () => {
    if (!name.trim()) return setError(new Error('Name the schedule.'));
    if (!promptId) return setError(new Error('Pick the saved prompt to run.'));
    if (targetKind === 'agent' && !agent) return setError(new Error('Pick an agent.'));
    if (targetKind === 'tag' && !tag.trim()) return setError(new Error('Give an agent tag.'));
    setBusy(true);
    setError(null);
    const body = {
      name: name.trim(),
      description,
      promptId,
      cronExpression: cron,
      timezone: tz,
      overlapPolicy: overlap,
      missedPolicy: missed,
      ...(targetKind === 'agent' ? { agent, agentTag: null } : { agentTag: tag.trim(), agent: null }),
    };
    try {
      const r = schedule ? await updateSchedule(schedule.id, body) : await createSchedule(body);
      onSaved(r.schedule, r.warnings);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const set = (patch: Partial<BuilderState>) => setB((x) => ({ ...x, ...patch, custom: patch.preset === 'custom' && x.preset !== 'custom' ? cronOf(x) : (patch.custom ?? x.custom) }));
  const presets: [Preset, string][] = [
    ['hourly', 'Hourly'],
    ['daily', 'Daily'],
    ['weekdays', 'Weekdays'],
    ['weekly', 'Weekly'],
    ['custom', 'Custom cron'],
  ];
  return (
    <Modal
      title={schedule ? `Edit ${schedule.name}` : 'New schedule'}
      onClose={onClose}
      wide
      testid="schedule-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" id="sched-save" disabled={busy || previewError?.key === previewKey} onClick={() => void save()}>
            {schedule ? 'Save' : 'Create schedule'}
          </button>
        </>
      }
    >
      <form
        class="form-grid"
        id="schedule-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <ErrorBanner error={refs.error} prefix="Could not load prompts and agents" />
        <div class="form-row">
          <Field label="Name" id="sched-name">
            <input id="sched-name" type="text" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Saved prompt" id="sched-prompt" hint={prompts.length === 0 && refs.data ? <>No saved prompts yet: <a href="#/run">save one from Run</a>.</> : undefined}>
            <select id="sched-prompt" value={promptId} onChange={(e) => setPromptId((e.target as HTMLSelectElement).value)}>
              <option value="">choose…</option>
              {prompts.map((p) => (
                <option value={p.id} selected={p.id === promptId}>
                  {p.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div class="builder" data-testid="builder">
          <div class="seg" role="group" aria-label="How often">
            {presets.map(([k, label]) => (
              <button type="button" data-preset={k} aria-pressed={b.preset === k} onClick={() => set({ preset: k })}>
                {label}
              </button>
            ))}
          </div>
          <div class="builder-row">
            {b.preset === 'hourly' ? (
              <Field label="At minute" id="sched-minute">
                <input id="sched-minute" type="number" min={0} max={59} value={b.minute} onInput={(e) => set({ minute: Math.min(59, Math.max(0, Number((e.target as HTMLInputElement).value) || 0)) })} />
              </Field>
            ) : b.preset === 'custom' ? (
              <Field label="Cron expression" id="sched-cron" hint="minute hour day-of-month month day-of-week, e.g. */15 8-18 * * 1-5">
                <input id="sched-cron" class="mono-input" type="text" spellcheck={false} value={b.custom} onInput={(e) => set({ custom: (e.target as HTMLInputElement).value })} />
              </Field>
            ) : (
              <Field label="At (HH:MM)" id="sched-time">
                <input id="sched-time" type="time" value={b.time} onInput={(e) => set({ time: (e.target as HTMLInputElement).value || '00:00' })} />
              </Field>
            )}
            <Field label="Time zone" id="sched-tz">
              <input id="sched-tz" type="text" list="sched-tz-list" value={tz} onInput={(e) => setTz((e.target as HTMLInputElement).value.trim())} />
              <datalist id="sched-tz-list">
                {zones().map((z) => (
                  <option value={z} />
                ))}
              </datalist>
            </Field>
          </div>
          {b.preset === 'weekly' ? (
            <div class="days" role="group" aria-label="Days of the week">
              {[1, 2, 3, 4, 5, 6, 0].map((d) => (
                <label>
                  <input
                    type="checkbox"
                    data-day={d}
                    checked={b.days.includes(d)}
                    onChange={(e) => set({ days: (e.target as HTMLInputElement).checked ? [...b.days, d] : b.days.filter((x) => x !== d) })}
                  />
                  {DAY_NAMES[d]}
                </label>
              ))}
            </div>
          ) : null}
          <div data-testid="cron-preview" aria-live="polite">
            <div>
              {previewError?.key === previewKey ? null : <span class="cron-words">{cron ? cronInWords(cron) : '—'}</span>} <code class="muted small">{cron}</code>
            </div>
            {previewError?.key === previewKey ? (
              <p class="field-error" role="alert" data-testid="cron-error">
                {previewError.text}
              </p>
            ) : preview?.key === previewKey ? (
              <>
                <div class="muted small">Next runs ({tz}):</div>
                <ol class="preview-list" data-cron={cron}>
                  {preview.local.map((l) => (
                    <li>{l}</li>
                  ))}
                </ol>
              </>
            ) : (
              <Spinner label="Working out the next runs…" />
            )}
          </div>
        </div>
        <div class="form-row">
          <Field label="Run on" id="sched-target">
            <div class="seg" role="group" aria-label="Target">
              <button type="button" id="sched-target-agent" aria-pressed={targetKind === 'agent'} onClick={() => setTargetKind('agent')}>
                One agent
              </button>
              <button type="button" id="sched-target-tag" aria-pressed={targetKind === 'tag'} onClick={() => setTargetKind('tag')}>
                Every agent with a tag
              </button>
            </div>
          </Field>
          {targetKind === 'agent' ? (
            <Field label="Agent" id="sched-agent">
              <select id="sched-agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
                <option value="">choose…</option>
                {agents.map((a) => (
                  <option value={a.id} selected={a.id === agent}>
                    {a.name} ({a.status})
                  </option>
                ))}
              </select>
            </Field>
          ) : (
            <Field label="Tag" id="sched-tag" hint="One run on each agent with the tag that is online at fire time">
              <input id="sched-tag" type="text" list="sched-tag-list" value={tag} onInput={(e) => setTag((e.target as HTMLInputElement).value)} />
              <datalist id="sched-tag-list">
                {tags.map((t) => (
                  <option value={t} />
                ))}
              </datalist>
            </Field>
          )}
        </div>
        <div class="form-row">
          <Field label="If the previous run is still going" id="sched-overlap">
            <select id="sched-overlap" value={overlap} onChange={(e) => setOverlap((e.target as HTMLSelectElement).value as 'skip' | 'queue')}>
              <option value="skip">skip this run</option>
              <option value="queue">queue it (at most one waiting)</option>
            </select>
          </Field>
          <Field label="Runs missed while the relay was down" id="sched-missed">
            <select id="sched-missed" value={missed} onChange={(e) => setMissed((e.target as HTMLSelectElement).value as 'skip' | 'run_once')}>
              <option value="skip">skip them (logged)</option>
              <option value="run_once">run the latest once on start</option>
            </select>
          </Field>
        </div>
        <Field label="Description" id="sched-desc">
          <input id="sched-desc" type="text" value={description} placeholder="optional" onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}
