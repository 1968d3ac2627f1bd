/**
 * Agents list: status, host facts, tags, last seen, and "Open terminal" for online agents.
 * Live: agent events (online, offline, renamed, deleted) patch the list in place; a slow safety
 * refresh catches anything else. Relative times tick every second without a refetch. Cards are
 * rebuilt only when an agent's data changed, so an update never steals focus or hover.
 */
import type { AgentView } from '@rexec/shared';
import { ApiError, listAgents } from '../api.js';
import { h, relativeTime, type Disposables } from '../dom.js';
import { terminalRoute } from '../nav.js';
import { subscribe } from '../events.js';
import { safetyRefreshMs } from '../components/live.js';
import { applyAgentEvent } from '../data.js';

export function renderAgents(root: HTMLElement, d: Disposables): void {
  document.title = 'Agents · Rexec';
  const summary = h('span', { class: 'summary', 'data-testid': 'agents-summary' }, 'Loading…');
  const filter = h('input', { id: 'agent-filter', type: 'search', placeholder: 'Filter by name, tag, OS…', 'aria-label': 'Filter agents', autocomplete: 'off', spellcheck: 'false' });
  const banner = h('p', { class: 'banner banner-error', role: 'alert', 'data-testid': 'agents-error', hidden: true });
  const list = h('div', { id: 'agent-list', class: 'agent-list', 'data-testid': 'agent-list', 'aria-busy': 'true' });
  const empty = h(
    'div',
    { class: 'empty', 'data-testid': 'agents-empty', hidden: true },
    h('h2', {}, 'No agents yet'),
    h('p', {}, 'Install rexec-agent on a server and register it with this relay. It dials out to the relay and shows up here as soon as it connects.'),
  );
  const noMatch = h('p', { class: 'empty-filter', hidden: true }, 'No agent matches the filter.');

  root.append(
    h('div', { class: 'page-title' }, h('h1', {}, 'Agents'), summary, h('div', { class: 'spacer' }), filter, h('a', { class: 'btn btn-primary', href: '#/agents/new', 'data-action': 'add-agent' }, '+ Add agent')),
    banner,
    list,
    noMatch,
    empty,
  );

  const cards = new Map<string, { sig: string; el: HTMLElement; agent: AgentView }>();
  let agents: AgentView[] = [];
  let inflight: AbortController | null = null;
  let loaded = false;

  const applyFilter = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const { el, agent } of cards.values()) {
      const hay = [agent.name, agent.description, agent.os, agent.arch, agent.hostname, agent.status, ...agent.tags].join(' ').toLowerCase();
      const match = !q || q.split(/\s+/).every((w) => hay.includes(w));
      el.hidden = !match;
      if (match) shown++;
    }
    noMatch.hidden = !(q && shown === 0 && cards.size > 0);
  };

  const render = () => {
    const sorted = [...agents].sort((a, b) => (a.status === b.status ? a.name.localeCompare(b.name) : a.status === 'online' ? -1 : 1));
    const seen = new Set<string>();
    const els: HTMLElement[] = [];
    for (const a of sorted) {
      seen.add(a.id);
      const sig = JSON.stringify(a);
      let entry = cards.get(a.id);
      if (!entry || entry.sig !== sig) {
        const el = agentCard(a);
        if (entry) entry.el.replaceWith(el);
        entry = { sig, el, agent: a };
        cards.set(a.id, entry);
      }
      els.push(entry.el);
    }
    for (const [id, entry] of cards) {
      if (!seen.has(id)) {
        entry.el.remove();
        cards.delete(id);
      }
    }
    // Reorder only when the order changed, so focus and hover survive a poll.
    const order = Array.from(list.children);
    if (order.length !== els.length || order.some((el, i) => el !== els[i])) list.replaceChildren(...els);

    const online = agents.filter((a) => a.status === 'online').length;
    summary.textContent = `${online} online · ${agents.length - online} offline`;
    empty.hidden = agents.length > 0;
    list.setAttribute('aria-busy', 'false');
    applyFilter();
    tick();
  };

  const tick = () => {
    const now = Date.now();
    for (const el of list.querySelectorAll<HTMLElement>('[data-ts]')) {
      const ts = el.dataset.ts ?? '';
      el.textContent = relativeTime(ts || null, now);
      if (ts) el.title = new Date(ts).toLocaleString();
    }
  };

  const refresh = async () => {
    if (inflight) return;
    const ac = new AbortController();
    inflight = ac;
    try {
      agents = await listAgents(ac.signal);
      if (d.isDisposed) return;
      loaded = true;
      banner.hidden = true;
      render();
    } catch (err) {
      if (d.isDisposed || ac.signal.aborted) return;
      banner.textContent = `Could not load agents: ${err instanceof ApiError ? err.message : String(err)}`;
      banner.hidden = false;
      if (!loaded) summary.textContent = '';
    } finally {
      if (inflight === ac) inflight = null;
    }
  };

  d.add(() => inflight?.abort());
  d.listen(filter, 'input', applyFilter);
  d.add(
    subscribe(
      ['agent.online', 'agent.offline', 'agent.updated', 'agent.deleted'],
      (e) => {
        if (!loaded) return;
        agents = applyAgentEvent(agents, e);
        render();
      },
      () => void refresh(),
    ),
  );
  const safety = safetyRefreshMs();
  if (safety > 0) {
    d.interval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, safety);
  }
  d.interval(tick, 1000);
  d.listen(document, 'visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
  });
  void refresh();
}

function agentCard(a: AgentView): HTMLElement {
  const online = a.status === 'online';
  return h(
    'article',
    { class: `agent-card ${online ? 'is-online' : 'is-offline'}`, 'data-agent-name': a.name, 'data-agent-id': a.id, 'data-status': a.status },
    h(
      'div',
      { class: 'agent-head' },
      h('h2', { class: 'agent-name', title: a.hostname ? `host: ${a.hostname}` : undefined }, a.name),
      h('span', { class: `badge ${online ? 'badge-online' : 'badge-offline'}`, 'data-testid': 'agent-status' }, online ? 'online' : 'offline'),
    ),
    a.description ? h('p', { class: 'agent-desc' }, a.description) : null,
    h(
      'dl',
      { class: 'agent-facts' },
      h('dt', {}, 'OS'),
      h('dd', { 'data-testid': 'agent-os' }, a.os || 'unknown'),
      h('dt', {}, 'Arch'),
      h('dd', { 'data-testid': 'agent-arch' }, a.arch || 'unknown'),
      h('dt', {}, 'Shell'),
      h('dd', { 'data-testid': 'agent-shell', class: 'mono' }, a.shell || 'default'),
      a.version ? h('dt', {}, 'Agent') : null,
      a.version ? h('dd', { 'data-testid': 'agent-version' }, a.version) : null,
    ),
    a.tags.length
      ? h('ul', { class: 'tags', 'aria-label': 'tags', 'data-testid': 'agent-tags' }, ...a.tags.map((t) => h('li', { class: 'chip', 'data-tag': t }, t)))
      : null,
    h(
      'div',
      { class: 'agent-foot' },
      online
        ? h('span', { class: 'muted' }, 'connected ', h('time', { 'data-ts': a.connectedAt ?? a.lastSeenAt ?? '', 'data-testid': 'last-seen' }, relativeTime(a.connectedAt ?? a.lastSeenAt)))
        : h('span', { class: 'muted' }, 'last seen ', h('time', { 'data-ts': a.lastSeenAt ?? '', 'data-testid': 'last-seen' }, relativeTime(a.lastSeenAt))),
      online
        ? h('a', { class: 'btn btn-primary', href: `#${terminalRoute(a.id)}`, 'data-action': 'open-terminal', 'aria-label': `Open terminal on ${a.name}` }, 'Open terminal')
        : h('span', { class: 'btn btn-disabled', 'aria-disabled': 'true', title: 'The agent is offline' }, 'Offline'),
    ),
  );
}
