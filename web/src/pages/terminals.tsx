/**
 * Terminals: several terminals in tabs, on any agents, each its own shell session that survives
 * reloads (each tab remembers its session) and reconnects by itself; side by side when the window
 * is wide enough; font size for all. `?agent=ID` opens a tab on that agent, `&session=ID`
 * attaches it to an existing session.
 *
 * Test hooks: `#term-tabs`, `[data-tab]` (data-state), `#new-terminal-agent`, `#new-terminal`,
 * `[data-testid=term-pane]`, `#term-split`, `#font-bigger`, `#font-smaller`.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Disposables } from '../dom.js';
import { Legacy } from '../components/legacy.js';
import { Empty, Icon } from '../components/ui.js';
import { useAgents } from '../data.js';

interface Tab {
  key: string;
  agentId: string;
  attach?: string;
}

const TABS_KEY = 'rexec.terminals.tabs';

function loadTabs(): Tab[] {
  try {
    const t = JSON.parse(sessionStorage.getItem(TABS_KEY) ?? '[]') as Tab[];
    return Array.isArray(t) ? t.filter((x) => typeof x.key === 'string' && typeof x.agentId === 'string') : [];
  } catch {
    return [];
  }
}

function Pane({ tab, onState }: { tab: Tab; onState: (state: string, name: string) => void }) {
  const render = (root: HTMLElement, d: Disposables) => {
    import('../views/terminal.js')
      .then(({ renderTerminal }) => {
        if (!d.isDisposed) renderTerminal(root, d, tab.agentId, { ids: false, back: false, resumeKey: `rexec.tab.${tab.key}`, attach: tab.attach, onState });
      })
      .catch((err: unknown) => {
        if (!d.isDisposed) root.textContent = `Could not load the terminal: ${String(err)}`;
      });
  };
  return <Legacy render={render} class="legacy term-pane-inner" deps={[tab.key]} />;
}

export function TerminalsPage({ query }: { query: URLSearchParams }) {
  const { agents } = useAgents();
  const [tabs, setTabs] = useState<Tab[]>(loadTabs);
  const [active, setActive] = useState<string>(() => loadTabs()[0]?.key ?? '');
  const [split, setSplit] = useState(false);
  const [pick, setPick] = useState('');
  const [states, setStates] = useState<Record<string, { state: string; name: string }>>({});
  const [font, setFont] = useState(14);

  useEffect(() => {
    sessionStorage.setItem(TABS_KEY, JSON.stringify(tabs.map(({ key, agentId }) => ({ key, agentId }))));
  }, [tabs]);
  useEffect(() => {
    import('../views/terminal.js').then((m) => setFont(m.terminalFontSize())).catch(() => {});
  }, []);

  const open = (agentId: string, attach?: string) => {
    const t: Tab = { key: `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, agentId, attach };
    setTabs((x) => [...x, t]);
    setActive(t.key);
  };
  // ?agent=ID[&session=ID] opens (or attaches) a tab once.
  useEffect(() => {
    const a = query.get('agent');
    if (a) {
      open(a, query.get('session') ?? undefined);
      history.replaceState(null, '', '#/terminals');
    }
  }, []);
  useEffect(() => {
    if (!pick && agents?.length) setPick((agents.find((a) => a.status === 'online') ?? agents[0])!.id);
  }, [agents]);

  const close = (key: string) => {
    sessionStorage.removeItem(`rexec.tab.${key}`);
    const rest = tabs.filter((t) => t.key !== key);
    setTabs(rest);
    if (active === key) setActive(rest[rest.length - 1]?.key ?? '');
  };
  const changeFont = async (delta: number) => {
    const m = await import('../views/terminal.js');
    m.setTerminalFontSize(m.terminalFontSize() + delta);
    setFont(m.terminalFontSize());
  };
  const activeIdx = tabs.findIndex((t) => t.key === active);
  const second = split && tabs.length > 1 ? tabs[(activeIdx + 1) % tabs.length]?.key : undefined;
  const nameOf = (t: Tab) => states[t.key]?.name ?? agents?.find((a) => a.id === t.agentId)?.name ?? t.agentId;

  return (
    <div class="terms-page">
      <div class="term-tabs" id="term-tabs" role="tablist">
        {tabs.map((t) => (
          <div class={`term-tab ${t.key === active ? 'active' : ''} ${t.key === second ? 'second' : ''}`} data-tab={t.key} data-state={states[t.key]?.state ?? 'connecting'} role="tab" aria-selected={t.key === active}>
            <button type="button" class="term-tab-label" onClick={() => setActive(t.key)} title={nameOf(t)}>
              <span class="dot" aria-hidden="true" />
              {nameOf(t)}
            </button>
            <button type="button" class="icon-btn term-tab-close" aria-label={`Close ${nameOf(t)}`} title="Close the tab (the shell keeps running until it exits)" onClick={() => close(t.key)}>
              <Icon name="x" size={12} />
            </button>
          </div>
        ))}
        <div class="term-new">
          <select id="new-terminal-agent" aria-label="Agent for a new terminal" value={pick} onChange={(e) => setPick((e.target as HTMLSelectElement).value)}>
            {agents?.map((a) => (
              <option value={a.id} disabled={a.status !== 'online'}>
                {a.name}
                {a.status === 'online' ? '' : ' (offline)'}
              </option>
            ))}
          </select>
          <button type="button" class="btn btn-small btn-primary" id="new-terminal" disabled={!pick} onClick={() => open(pick)}>
            <Icon name="plus" size={12} /> Terminal
          </button>
        </div>
        <div class="spacer" />
        <button type="button" class="icon-btn" id="font-smaller" title="Smaller font" aria-label="Smaller font" onClick={() => void changeFont(-1)}>
          A−
        </button>
        <span class="muted small">{font}px</span>
        <button type="button" class="icon-btn" id="font-bigger" title="Bigger font" aria-label="Bigger font" onClick={() => void changeFont(1)}>
          A+
        </button>
        <button type="button" class="icon-btn" id="term-split" aria-pressed={split} disabled={tabs.length < 2} title="Two terminals side by side" aria-label="Split" onClick={() => setSplit(!split)}>
          ◫
        </button>
      </div>
      {tabs.length === 0 ? (
        <div class="page">
          <Empty title="No terminals open" testid="terminals-empty">
            Pick an agent above and open a terminal. Each tab is its own shell; it survives a reload and reconnects by itself after a network drop.
          </Empty>
        </div>
      ) : (
        <div class={`term-panes ${second ? 'split' : ''}`}>
          {tabs.map((t) => (
            <div class="term-pane" data-testid="term-pane" data-tab={t.key} hidden={t.key !== active && t.key !== second} style={t.key === second ? 'order:2' : t.key === active ? 'order:1' : undefined}>
              <Pane tab={t} onState={(state, name) => setStates((s) => (s[t.key]?.state === state && s[t.key]?.name === name ? s : { ...s, [t.key]: { state, name } }))} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
