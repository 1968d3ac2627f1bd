/**
 * Saved prompts: a table with name, profile, directory, type, tags and the last run; search and
 * filters (tag, profile, directory) on the relay; select several to delete or tag them; each row
 * runs, edits, schedules or deletes its prompt.
 *
 * Test hooks: `#prompts-table`, `tr[data-prompt-name]`, `#prompts-q`, `#prompts-tag`,
 * `#prompts-profile`, `#prompts-dir`, `[data-action=run|edit|schedule|delete]`, `#new-prompt`,
 * `#bulk-delete`, `#bulk-tag`, `#prompt-editor` fields `#pe-name`, `#pe-content`, `#pe-save`.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ProfileView, PromptView } from '@rexec/shared';
import { createPrompt, deletePrompt, listPrompts, updatePrompt, type PromptInput } from '../api.js';
import { Confirm, Empty, ErrorBanner, Field, FilterSelect, Icon, Modal, PageHead, ProfileIcon, Spinner, StatusBadge, toast, useAsync } from '../components/ui.js';
import { useLiveRefresh } from '../components/live.js';
import { relativeTime } from '../dom.js';
import { useProfiles } from '../data.js';
import { href } from '../nav.js';

export function PromptsPage() {
  const [q, setQ] = useState('');
  const [qApplied, setQApplied] = useState('');
  const [tag, setTag] = useState('');
  const [profile, setProfile] = useState('');
  const [dir, setDir] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [editing, setEditing] = useState<PromptView | 'new' | null>(null);
  const [confirm, setConfirm] = useState<{ ids: string[]; label: string } | null>(null);
  const [tagging, setTagging] = useState(false);
  const { profiles } = useProfiles();
  useEffect(() => {
    const t = window.setTimeout(() => setQApplied(q), 250);
    return () => window.clearTimeout(t);
  }, [q]);
  const data = useAsync((signal) => listPrompts({ q: qApplied || undefined, tag: tag || undefined, profile: profile || undefined, directory: dir || undefined }, signal), [qApplied, tag, profile, dir]);
  // Tags and directories to filter by come from all prompts (unfiltered list).
  const all = useAsync((signal) => listPrompts({}, signal), [data.data]);
  // A saved prompt's last run status follows runs as they end.
  useLiveRefresh(['run.finished'], data.reload, (e) => 'run' in e && !!e.run.promptId);
  const tags = useMemo(() => [...new Set(all.data?.items.flatMap((p) => p.tags) ?? [])].sort(), [all.data]);
  const dirs = useMemo(() => [...new Set(all.data?.items.map((p) => p.workingDirectory).filter(Boolean) ?? [])].sort(), [all.data]);
  const byId = new Map((profiles ?? []).map((p) => [p.id, p]));
  const items = data.data?.items ?? [];
  const filtered = Boolean(qApplied || tag || profile || dir);
  const allSelected = items.length > 0 && items.every((p) => selected.has(p.id));

  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };

  return (
    <div class="page page-wide">
      <PageHead title="Saved prompts" sub={data.data ? `${data.data.total} prompt${data.data.total === 1 ? '' : 's'}` : undefined}>
        <button type="button" class="btn btn-primary" id="new-prompt" onClick={() => setEditing('new')}>
          <Icon name="plus" size={14} /> New prompt
        </button>
      </PageHead>
      <div class="filters" role="search">
        <label class="f">
          Search
          <input id="prompts-q" type="search" value={q} placeholder="name or text" onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </label>
        <FilterSelect label="Tag" id="prompts-tag" value={tag} onChange={setTag} options={tags.map((t) => [t, t] as const)} />
        <FilterSelect label="Profile" id="prompts-profile" value={profile} onChange={setProfile} options={(profiles ?? []).map((p) => [p.id, p.name] as const)} />
        <FilterSelect label="Directory" id="prompts-dir" value={dir} onChange={setDir} options={dirs.map((d) => [d, d] as const)} />
      </div>
      {selected.size ? (
        <div class="bulkbar" data-testid="bulkbar">
          <strong>{selected.size} selected</strong>
          <button type="button" class="btn btn-small" id="bulk-tag" onClick={() => setTagging(true)}>
            <Icon name="tag" size={12} /> Add tag
          </button>
          <button type="button" class="btn btn-small btn-danger" id="bulk-delete" onClick={() => setConfirm({ ids: [...selected], label: `${selected.size} prompts` })}>
            <Icon name="trash" size={12} /> Delete
          </button>
          <div class="spacer" />
          <button type="button" class="btn btn-small" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      ) : null}
      <ErrorBanner error={data.error} onRetry={data.reload} prefix="Could not load prompts" />
      {!data.data ? (
        data.error ? null : <Spinner />
      ) : items.length === 0 ? (
        filtered ? (
          <Empty title="No prompt matches" testid="prompts-empty">
            Clear the search or the filters.
          </Empty>
        ) : (
          <Empty title="No saved prompts yet" testid="prompts-empty" action={<a class="btn btn-primary" href="#/run">Compose one on the Run page</a>}>
            Save prompts you run often, then run or schedule them in one click.
          </Empty>
        )
      ) : (
        <div class="table-wrap">
          <table class="table" id="prompts-table">
            <thead>
              <tr>
                <th>
                  <input type="checkbox" aria-label="Select all" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((p) => p.id)))} />
                </th>
                <th>Name</th>
                <th>Profile</th>
                <th>Directory</th>
                <th>Type</th>
                <th>Tags</th>
                <th>Last run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((p) => {
                const prof: ProfileView | undefined = p.agentProfileId ? byId.get(p.agentProfileId) : undefined;
                return (
                  <tr data-prompt-name={p.name} data-prompt-id={p.id}>
                    <td>
                      <input type="checkbox" aria-label={`Select ${p.name}`} checked={selected.has(p.id)} onChange={() => toggle(p.id)} />
                    </td>
                    <td class="wrap">
                      <strong>{p.name}</strong>
                      <div class="muted clip mono small">{p.content.split('\n')[0]}</div>
                    </td>
                    <td>
                      {prof ? (
                        <span class="badge-plain">
                          <ProfileIcon icon={prof.icon} agentType={prof.agentType} size={16} /> {prof.name}
                        </span>
                      ) : (
                        <span class="muted">default</span>
                      )}
                    </td>
                    <td>
                      <span class="clip mono">{p.workingDirectory || '—'}</span>
                    </td>
                    <td>
                      <span class="badge-plain">{p.type === 'file-reference' ? 'file' : 'inline'}</span>
                    </td>
                    <td class="wrap">
                      <span class="tags">
                        {p.tags.map((t) => (
                          <button type="button" class="chip chip-btn" title={`Filter by ${t}`} onClick={() => setTag(t)}>
                            {t}
                          </button>
                        ))}
                      </span>
                    </td>
                    <td>
                      <StatusBadge status={p.lastRunStatus} />
                      {p.lastRunAt ? <span class="muted small"> {relativeTime(p.lastRunAt)}</span> : null}
                    </td>
                    <td>
                      <span class="btn-group">
                        <a class="btn btn-small btn-primary" data-action="run" href={href('/run', { prompt: p.id })}>
                          <Icon name="run" size={12} /> Run
                        </a>
                        <button type="button" class="icon-btn" data-action="edit" title="Edit" aria-label={`Edit ${p.name}`} onClick={() => setEditing(p)}>
                          <Icon name="edit" />
                        </button>
                        <a class="icon-btn" data-action="schedule" title="Schedule" aria-label={`Schedule ${p.name}`} href={href('/schedules', { prompt: p.id })}>
                          <Icon name="schedules" />
                        </a>
                        <button type="button" class="icon-btn" data-action="delete" title="Delete" aria-label={`Delete ${p.name}`} onClick={() => setConfirm({ ids: [p.id], label: `"${p.name}"` })}>
                          <Icon name="trash" />
                        </button>
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <PromptEditor
          prompt={editing === 'new' ? null : editing}
          profiles={profiles ?? []}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            data.reload();
          }}
        />
      ) : null}
      {confirm ? (
        <Confirm
          title="Delete prompts"
          confirmLabel="Delete"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            for (const id of confirm.ids) await deletePrompt(id);
            toast(`Deleted ${confirm.label}`);
            setSelected(new Set());
            data.reload();
          }}
        >
          Delete {confirm.label}? Their past runs stay in the history.
        </Confirm>
      ) : null}
      {tagging ? (
        <BulkTag
          prompts={items.filter((p) => selected.has(p.id))}
          onClose={() => setTagging(false)}
          onDone={() => {
            setTagging(false);
            data.reload();
          }}
        />
      ) : null}
    </div>
  );
}

/** The editable fields of a prompt (what a PUT sends back in full). */
export function promptInputOf(p: PromptView): PromptInput {
  return { name: p.name, content: p.content, type: p.type, agentProfileId: p.agentProfileId, workingDirectory: p.workingDirectory, timeout: p.timeout, tags: p.tags, variables: p.variables };
}

function BulkTag({ prompts, onClose, onDone }: { prompts: PromptView[]; onClose: () => void; onDone: () => void }) {
  const [tag, setTag] = useState('');
  const [error, setError] = useState<unknown>(null);
  const apply = async () => {
    const t = tag.trim();
    if (!t) return setError(new Error('Type a tag.'));
    try {
      // Whole prompts go back: the relay's partial update fills omitted fields with their defaults.
      for (const p of prompts) if (!p.tags.includes(t)) await updatePrompt(p.id, { ...promptInputOf(p), tags: [...p.tags, t] });
      toast(`Tagged ${prompts.length} prompt${prompts.length === 1 ? '' : 's'} "${t}"`);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal
      title={`Tag ${prompts.length} prompt${prompts.length === 1 ? '' : 's'}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" id="bulk-tag-apply" onClick={() => void apply()}>
            Add tag
          </button>
        </>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void apply();
        }}
      >
        <Field label="Tag" id="bulk-tag-name">
          <input id="bulk-tag-name" type="text" value={tag} onInput={(e) => setTag((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}

export function PromptEditor({ prompt, profiles, onClose, onSaved }: { prompt: PromptView | null; profiles: ProfileView[]; onClose: () => void; onSaved: (p: PromptView) => void }) {
  const [name, setName] = useState(prompt?.name ?? '');
  const [type, setType] = useState<'inline' | 'file-reference'>(prompt?.type ?? 'inline');
  const [content, setContent] = useState(prompt?.content ?? '');
  const [profileId, setProfileId] = useState(prompt?.agentProfileId ?? '');
  const [dir, setDir] = useState(prompt?.workingDirectory ?? '');
  const [timeout, setTimeoutMin] = useState(prompt?.timeout ? String(prompt.timeout) : '');
  const [tags, setTags] = useState((prompt?.tags ?? []).join(', '));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    if (!name.trim()) return setError(new Error('Give the prompt a name.'));
    if (!content.trim()) return setError(new Error('The prompt text is empty.'));
    if (type === 'file-reference' && !/^@\S/.test(content.trim())) return setError(new Error('A file reference is "@" followed by a path, e.g. @prompts/review.md'));
    const t = timeout.trim() ? Number(timeout) : null;
    if (t !== null && !(t > 0)) return setError(new Error('The timeout is a number of minutes above 0, or empty for the profile default.'));
    const body: PromptInput = {
      name: name.trim(),
      type,
      content: type === 'file-reference' ? content.trim() : content,
      agentProfileId: profileId || null,
      workingDirectory: dir.trim(),
      timeout: t,
      tags: tags
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      variables: prompt?.variables ?? [],
    };
    setBusy(true);
    setError(null);
    try {
      const p = prompt ? await updatePrompt(prompt.id, body) : await createPrompt(body);
      toast(`Saved "${p.name}"`);
      onSaved(p);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={prompt ? `Edit "${prompt.name}"` : 'New prompt'}
      wide
      onClose={onClose}
      testid="prompt-editor"
      footer={
        <>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" id="pe-save" disabled={busy} onClick={() => void save()}>
            Save
          </button>
        </>
      }
    >
      <form
        class="form-grid"
        id="prompt-editor"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div class="form-row">
          <Field label="Name" id="pe-name">
            <input id="pe-name" type="text" value={name} maxLength={128} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Type" id="pe-type">
            <select id="pe-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as 'inline' | 'file-reference')}>
              <option value="inline">inline text</option>
              <option value="file-reference">file reference (@path on the agent)</option>
            </select>
          </Field>
        </div>
        <Field label={type === 'inline' ? 'Prompt' : 'File reference'} id="pe-content" hint={type === 'inline' ? 'Markdown; {{NAME}} marks a variable.' : '@ followed by the path, relative to the working directory or absolute.'}>
          <textarea id="pe-content" class="prompt-editor" rows={type === 'inline' ? 9 : 2} value={content} onInput={(e) => setContent((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <div class="form-row">
          <Field label="Profile" id="pe-profile">
            <select id="pe-profile" value={profileId} onChange={(e) => setProfileId((e.target as HTMLSelectElement).value)}>
              <option value="">choose when running</option>
              {profiles.map((p) => (
                <option value={p.id}>{p.name}</option>
              ))}
            </select>
          </Field>
          <Field label="Working directory" id="pe-dir">
            <input id="pe-dir" type="text" class="mono-input" value={dir} onInput={(e) => setDir((e.target as HTMLInputElement).value)} />
          </Field>
        </div>
        <div class="form-row">
          <Field label="Timeout (minutes)" id="pe-timeout" hint="Empty: the profile's default">
            <input id="pe-timeout" type="number" min={1} value={timeout} onInput={(e) => setTimeoutMin((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Tags" id="pe-tags" hint="Comma separated">
            <input id="pe-tags" type="text" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
          </Field>
        </div>
        <ErrorBanner error={error} />
      </form>
    </Modal>
  );
}
