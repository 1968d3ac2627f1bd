/**
 * The output viewer (Run page, run details, History): a run's output in clean mode (ANSI
 * stripped, line semantics applied, the default) or terminal mode (xterm.js, colours and all);
 * search with match count and next/previous; copy all or the selection; download the .log; line
 * numbers; elapsed-time markers in long live runs; the middle of very long output collapsed into
 * a section that opens on demand; auto-scroll while live (scrolling up pauses it); full screen.
 *
 * Test hooks: `#output-viewer` (data-mode, data-lines), `.output-lines`, `#output-search`,
 * `[data-testid=output-mode-clean|output-mode-terminal|output-copy|output-download|output-full|match-count|autoscroll]`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { cleanOutput } from '@rexec/shared';
import { errorText, runLog, saveBlob } from '../api.js';
import type { OutputMark } from '../run-output.js';
import { Icon, clock, copyText, toast } from './ui.js';
import type { XtermOutput } from './xterm-output.js';

type Mode = 'clean' | 'terminal';
const MODE_KEY = 'rexec.output.mode';
/** Above this many lines the middle collapses; HEAD and TAIL lines stay visible. */
const COLLAPSE_AT = 4000;
const HEAD = 1000;
const TAIL = 2000;

interface Match {
  line: number;
  start: number;
}

export interface OutputViewerProps {
  runId: string | null;
  raw: string;
  version: number;
  marks?: OutputMark[];
  live: boolean;
  /** Shown when there is no run. */
  idle?: ComponentChildren;
  /** Left side of the header (status, elapsed...). */
  head?: ComponentChildren;
  /** Extra buttons at the right of the header (Kill...). */
  actions?: ComponentChildren;
}

function savedMode(): Mode {
  return localStorage.getItem(MODE_KEY) === 'terminal' ? 'terminal' : 'clean';
}

function highlight(text: string, q: string, line: number, current: Match | null): ComponentChildren {
  if (!q) return text || ' ';
  const lower = text.toLowerCase();
  const out: ComponentChildren[] = [];
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
    if (i > at) out.push(text.slice(at, i));
    const cur = current !== null && current.line === line && current.start === i;
    out.push(
      <mark class={cur ? 'current' : undefined} data-current={cur ? 'true' : undefined}>
        {text.slice(i, i + q.length)}
      </mark>,
    );
    at = i + q.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out.length ? out : ' ';
}

export function OutputViewer({ runId, raw, version, marks = [], live, idle, head, actions }: OutputViewerProps) {
  const [mode, setModeState] = useState<Mode>(savedMode);
  const [query, setQuery] = useState('');
  const [matchIdx, setMatchIdx] = useState(0);
  const [autoScroll, setAutoScroll] = useState(true);
  const [full, setFull] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const [numbers, setNumbers] = useState(true);
  const [termError, setTermError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const termHost = useRef<HTMLDivElement>(null);
  const term = useRef<XtermOutput | null>(null);
  const written = useRef(0);
  const searchRef = useRef<HTMLInputElement>(null);

  const setMode = (m: Mode) => {
    localStorage.setItem(MODE_KEY, m);
    setModeState(m);
  };

  // A new run: start over.
  useEffect(() => {
    setExpanded(false);
    setAutoScroll(true);
    setMatchIdx(0);
  }, [runId]);

  const lines = useMemo(() => {
    const l = cleanOutput(raw).split('\n');
    if (l.length && l[l.length - 1] === '') l.pop();
    return l;
  }, [version, raw.length]);
  const cleanText = () => lines.join('\n');

  const q = query.toLowerCase();
  const matches = useMemo<Match[]>(() => {
    if (!q || mode !== 'clean') return [];
    const m: Match[] = [];
    lines.forEach((text, line) => {
      const lower = text.toLowerCase();
      for (let i = lower.indexOf(q); i >= 0 && m.length < 10_000; i = lower.indexOf(q, i + q.length)) m.push({ line, start: i });
    });
    return m;
  }, [lines, q, mode]);
  const current = matches.length ? matches[Math.min(matchIdx, matches.length - 1)] ?? null : null;

  const collapsed = !expanded && lines.length > COLLAPSE_AT;
  const hiddenFrom = HEAD;
  const hiddenTo = lines.length - TAIL;
  // A match in the collapsed part opens it.
  useEffect(() => {
    if (current && collapsed && current.line >= hiddenFrom && current.line < hiddenTo) setExpanded(true);
  }, [current?.line, current?.start, collapsed]);
  useEffect(() => {
    if (!current) return;
    scroller.current?.querySelector('mark[data-current]')?.scrollIntoView({ block: 'center' });
  }, [current?.line, current?.start, q]);

  // Follow the end while live.
  useEffect(() => {
    if (mode === 'clean' && live && autoScroll && !q && scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
    if (mode === 'terminal' && live && autoScroll) term.current?.scrollToBottom();
  }, [version, mode, live, autoScroll]);

  // Terminal mode: create xterm lazily, write what is new.
  useEffect(() => {
    if (mode !== 'terminal' || !termHost.current) return;
    let cancelled = false;
    import('./xterm-output.js')
      .then(({ createXtermOutput }) => {
        if (cancelled || !termHost.current) return;
        term.current = createXtermOutput(termHost.current, 13);
        written.current = 0;
        setTermError(null);
        setTick((n) => n + 1);
      })
      .catch((err: unknown) => setTermError(`Could not load the terminal renderer: ${errorText(err)}`));
    return () => {
      cancelled = true;
      term.current?.dispose();
      term.current = null;
    };
  }, [mode, full]);
  useEffect(() => {
    const t = term.current;
    if (!t) return;
    if (raw.length < written.current) {
      t.reset();
      written.current = 0;
    }
    if (raw.length > written.current) {
      t.write(raw.slice(written.current));
      written.current = raw.length;
    }
  }, [version, raw, tick, runId]);

  // Escape leaves full screen.
  useEffect(() => {
    if (!full) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setFull(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [full]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el || !live) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (!atBottom && autoScroll) setAutoScroll(false);
    else if (atBottom && !autoScroll) setAutoScroll(true);
  };

  const step = (dir: 1 | -1) => {
    if (mode === 'terminal') {
      if (query) term.current?.find(query, dir < 0);
      return;
    }
    if (!matches.length) return;
    setMatchIdx((i) => (Math.min(i, matches.length - 1) + dir + matches.length) % matches.length);
  };

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      setQuery('');
      term.current?.clearSearch();
    }
  };

  const download = async () => {
    if (!runId) return;
    try {
      const { blob, filename } = await runLog(runId);
      saveBlob(blob, filename ?? `run-${runId}.log`);
    } catch (err) {
      toast(`Download failed: ${errorText(err)}`, 'error');
    }
  };

  const markAt = new Map(marks.map((m) => [m.line, m.seconds]));
  const row = (i: number) => {
    const text = lines[i] ?? '';
    const m = markAt.get(i);
    return (
      <>
        {m !== undefined ? (
          <div class="omark" data-testid="elapsed-marker">
            <span>+{clock(m)}</span>
          </div>
        ) : null}
        <div class="ol" key={i}>
          {numbers ? <span class="ln">{i + 1}</span> : null}
          <span class="lt">{highlight(text, q, i, current)}</span>
        </div>
      </>
    );
  };

  const rows: ComponentChildren[] = [];
  if (collapsed) {
    for (let i = 0; i < hiddenFrom; i++) rows.push(row(i));
    rows.push(
      <button type="button" class="ocollapse" data-testid="collapsed-section" onClick={() => setExpanded(true)}>
        <Icon name="expand" size={14} /> {(hiddenTo - hiddenFrom).toLocaleString()} lines hidden — show them
      </button>,
    );
    for (let i = hiddenTo; i < lines.length; i++) rows.push(row(i));
  } else {
    for (let i = 0; i < lines.length; i++) rows.push(row(i));
  }

  return (
    <section id="output-viewer" class={`viewer ${full ? 'viewer-full' : ''}`} data-mode={mode} data-lines={lines.length} aria-label="Run output">
      <div class="viewer-head">
        <div class="viewer-title">{head}</div>
        <div class="viewer-tools">
          <div class="seg" role="group" aria-label="Output mode">
            <button type="button" aria-pressed={mode === 'clean'} data-testid="output-mode-clean" onClick={() => setMode('clean')} title="Text without colours or escape codes">
              Clean
            </button>
            <button type="button" aria-pressed={mode === 'terminal'} data-testid="output-mode-terminal" onClick={() => setMode('terminal')} title="As a terminal shows it, with colours">
              Terminal
            </button>
          </div>
          <div class="search-box">
            <Icon name="search" size={14} />
            <input
              id="output-search"
              ref={searchRef}
              type="search"
              placeholder="Search output"
              aria-label="Search output"
              value={query}
              onInput={(e) => {
                setQuery((e.target as HTMLInputElement).value);
                setMatchIdx(0);
              }}
              onKeyDown={onSearchKey}
            />
            {query && mode === 'clean' ? (
              <span class="match-count" data-testid="match-count">
                {matches.length ? `${Math.min(matchIdx, matches.length - 1) + 1}/${matches.length}` : '0/0'}
              </span>
            ) : null}
            <button type="button" class="icon-btn" title="Previous match (Shift+Enter)" aria-label="Previous match" onClick={() => step(-1)}>
              ↑
            </button>
            <button type="button" class="icon-btn" title="Next match (Enter)" aria-label="Next match" onClick={() => step(1)}>
              ↓
            </button>
          </div>
          {mode === 'clean' ? (
            <button type="button" class="icon-btn" aria-pressed={numbers} title="Line numbers" aria-label="Line numbers" onClick={() => setNumbers(!numbers)}>
              #
            </button>
          ) : null}
          {live ? (
            <label class="check autoscroll" title="Follow new output">
              <input type="checkbox" data-testid="autoscroll" checked={autoScroll} onChange={(e) => setAutoScroll((e.target as HTMLInputElement).checked)} />
              Auto-scroll
            </label>
          ) : null}
          <button type="button" class="icon-btn" title="Copy all output (select lines and press Ctrl+C to copy a part)" aria-label="Copy all output" data-testid="output-copy" disabled={!runId} onClick={() => void copyText(cleanText())}>
            <Icon name="copy" />
          </button>
          <button type="button" class="icon-btn" title="Download .log" aria-label="Download .log" data-testid="output-download" disabled={!runId} onClick={() => void download()}>
            <Icon name="download" />
          </button>
          <button type="button" class="icon-btn" title={full ? 'Leave full screen (Esc)' : 'Full screen'} aria-label="Full screen" aria-pressed={full} data-testid="output-full" onClick={() => setFull(!full)}>
            <Icon name="expand" />
          </button>
          {actions}
        </div>
      </div>
      {!runId ? (
        <div class="viewer-idle" data-testid="output-idle">
          {idle ?? 'No output.'}
        </div>
      ) : mode === 'clean' ? (
        <div class={`output-lines ${numbers ? 'numbered' : ''}`} ref={scroller} onScroll={onScroll} tabIndex={0} data-testid="output-lines">
          {lines.length ? rows : <div class="viewer-empty">{live ? 'Waiting for output…' : 'This run printed nothing.'}</div>}
        </div>
      ) : (
        <div class="output-term">
          {termError ? <p class="banner banner-error">{termError}</p> : null}
          <div class="output-term-host" ref={termHost} data-testid="output-terminal" />
        </div>
      )}
    </section>
  );
}
