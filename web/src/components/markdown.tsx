/**
 * A small, safe Markdown preview for prompts: headings, paragraphs, lists, block quotes, fenced
 * code, inline code, bold, italics and links (shown as text with the URL). It builds elements,
 * never HTML strings, so prompt text cannot inject markup.
 */
import type { ComponentChildren } from 'preact';

function inline(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))|(\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})/g;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    const s = m[0];
    if (m[1]) out.push(<code>{s.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong>{s.slice(2, -2)}</strong>);
    else if (m[3]) out.push(<em>{s.slice(1, -1)}</em>);
    else if (m[4]) {
      const [, label, url] = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(s) ?? [];
      out.push(
        <span class="md-link" title={url}>
          {label}
        </span>,
      );
    } else out.push(<span class="md-var">{s}</span>);
    at = m.index + s.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

export function Markdown({ text }: { text: string }) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const blocks: ComponentChildren[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^```/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i]!)) body.push(lines[i++]!);
      i++;
      blocks.push(
        <pre>
          <code>{body.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    const hm = /^(#{1,6})\s+(.*)$/.exec(line);
    if (hm) {
      const level = Math.min(hm[1]!.length + 2, 6);
      const H = `h${level}` as 'h3';
      blocks.push(<H>{inline(hm[2]!)}</H>);
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: ComponentChildren[] = [];
      while (i < lines.length && /^\s*([-*+]|\d+\.)\s+/.test(lines[i]!)) {
        items.push(<li>{inline(lines[i]!.replace(/^\s*([-*+]|\d+\.)\s+/, ''))}</li>);
        i++;
      }
      blocks.push(ordered ? <ol>{items}</ol> : <ul>{items}</ul>);
      continue;
    }
    if (/^>\s?/.test(line)) {
      const q: string[] = [];
      while (i < lines.length && /^>\s?/.test(lines[i]!)) q.push(lines[i++]!.replace(/^>\s?/, ''));
      blocks.push(<blockquote>{inline(q.join(' '))}</blockquote>);
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() && !/^(```|#{1,6}\s|>|\s*([-*+]|\d+\.)\s)/.test(lines[i]!)) para.push(lines[i++]!);
    blocks.push(<p>{inline(para.join(' '))}</p>);
  }
  return <div class="markdown">{blocks.length ? blocks : <p class="muted">Nothing to preview.</p>}</div>;
}
