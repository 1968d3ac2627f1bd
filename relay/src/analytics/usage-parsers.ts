/**
 * Token usage and cost from what AI coding CLIs print. Each parser recognises one known shape
 * and returns null otherwise; output in no known shape is ignored (no usage recorded). Only the
 * last 256 KiB of output are read (summaries come at the end).
 *
 * Known shapes:
 * - claude-code: `--output-format json|stream-json` result objects (`total_cost_usd`, `usage`);
 *   the text summary (`Total cost: $0.12`, `Usage: 1.2k input, 300 output, 4k cache read,
 *   1k cache write`, or one such line per model under "Usage by model:").
 * - codex: `--json` events (`turn.completed` / `token_count` with input/output tokens);
 *   the text summary `tokens used: 12,345` (a total only).
 * - aider: `Tokens: 12k sent, 1.1k cache write, 4.5k cache hit, 1.2k received. Cost: $0.01
 *   message, $0.05 session.` (one line per message: tokens are summed, the last session cost kept).
 * - gemini-cli: `--output-format json` (`stats.models.*.tokens` prompt/candidates/cached/total)
 *   or stream-json result stats (`input_tokens`, `output_tokens`, `total_tokens`).
 * - opencode: JSON events whose part has `tokens: {input, output, cache: {read, write}}` and `cost`.
 * - json-usage: any JSON line with an API-style `usage` object (input_tokens/output_tokens or
 *   prompt_tokens/completion_tokens), and `cost_usd` / `total_cost_usd` next to it.
 */
export interface UsageReport {
  parser: string;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  totalTokens: number | null;
  costUsd: number | null;
}

type Parser = (text: string, lines: string[]) => Omit<UsageReport, 'parser'> | null;

const TAIL_BYTES = 256 * 1024;
const empty = (): Omit<UsageReport, 'parser'> => ({ inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, totalTokens: null, costUsd: null });
const add = (a: number | null, b: unknown): number | null => (typeof b === 'number' && Number.isFinite(b) ? (a ?? 0) + b : a);
const hasAny = (u: Omit<UsageReport, 'parser'>) => Object.values(u).some((v) => v !== null);

/** "12,345" -> 12345, "1.2k" -> 1200, "1.1m" -> 1100000; NaN for anything else. */
export function parseCount(s: string): number {
  const m = /^([\d,]*\.?\d+)\s*([kKmM]?)$/.exec(s.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]!.replace(/,/g, ''));
  const mult = m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1;
  return Math.round(n * mult);
}
const count = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const n = parseCount(s);
  return Number.isFinite(n) ? n : null;
};

/** Every line that parses as a JSON object, last first. */
function jsonObjects(lines: string[], text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (!l.startsWith('{') || !l.endsWith('}')) continue;
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  const whole = text.trim();
  if (!out.length && whole.startsWith('{') && whole.endsWith('}')) {
    try {
      const v = JSON.parse(whole) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  return out;
}
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

const claudeJson: Parser = (text, lines) => {
  for (const o of jsonObjects(lines, text)) {
    if (!('total_cost_usd' in o) && !(o.type === 'result' && obj(o.usage))) continue;
    const u = empty();
    const usage = obj(o.usage);
    if (usage) {
      u.inputTokens = add(null, usage.input_tokens);
      u.outputTokens = add(null, usage.output_tokens);
      u.cacheReadTokens = add(null, usage.cache_read_input_tokens);
      u.cacheWriteTokens = add(null, usage.cache_creation_input_tokens);
    }
    u.costUsd = add(null, o.total_cost_usd ?? o.cost_usd);
    if (hasAny(u)) return u;
  }
  return null;
};

const CLAUDE_TOKENS = /([\d.,]+[kKmM]?) input, ([\d.,]+[kKmM]?) output(?:, ([\d.,]+[kKmM]?) cache read)?(?:, ([\d.,]+[kKmM]?) cache write)?/g;
const claudeText: Parser = (text) => {
  const cost = /Total cost:\s*\$\s*([\d,]*\.?\d+)/i.exec(text);
  const u = empty();
  if (cost) u.costUsd = Number(cost[1]!.replace(/,/g, ''));
  // "Usage: ..." (one line) or one line per model under "Usage by model:".
  const from = text.search(/Usage( by model)?:/i);
  if (from >= 0) {
    for (const m of text.slice(from).matchAll(CLAUDE_TOKENS)) {
      u.inputTokens = add(u.inputTokens, count(m[1]));
      u.outputTokens = add(u.outputTokens, count(m[2]));
      u.cacheReadTokens = add(u.cacheReadTokens, count(m[3]));
      u.cacheWriteTokens = add(u.cacheWriteTokens, count(m[4]));
    }
  }
  return hasAny(u) ? u : null;
};

const codexJson: Parser = (text, lines) => {
  const u = empty();
  let cumulative = false;
  for (const o of jsonObjects(lines, text)) {
    const msg = obj(o.msg);
    // Newer token_count events carry running totals: the last one (first here) is the answer.
    const total = msg?.type === 'token_count' ? obj(obj(msg.info)?.total_token_usage) : null;
    if (total) {
      if (cumulative) continue;
      cumulative = true;
      Object.assign(u, empty());
    }
    const usage = total ?? (o.type === 'turn.completed' ? obj(o.usage) : msg?.type === 'token_count' ? msg : null);
    if (!usage || (cumulative && !total)) continue;
    u.inputTokens = add(u.inputTokens, usage.input_tokens);
    u.outputTokens = add(u.outputTokens, usage.output_tokens);
    u.cacheReadTokens = add(u.cacheReadTokens, usage.cached_input_tokens);
  }
  return hasAny(u) ? u : null;
};

const codexText: Parser = (text) => {
  const all = [...text.matchAll(/tokens used:?[ \t]*\r?\n?[ \t]*([\d,]+(?:\.\d+)?[kKmM]?)/gi)];
  const last = all[all.length - 1];
  if (!last) return null;
  const n = count(last[1]);
  return n === null ? null : { ...empty(), totalTokens: n };
};

const AIDER = /Tokens:\s*([\d.,]+[kKmM]?) sent(?:,\s*([\d.,]+[kKmM]?) cache write)?(?:,\s*([\d.,]+[kKmM]?) cache hit)?,\s*([\d.,]+[kKmM]?) received\.(?:\s*Cost:\s*\$([\d.]+) message,\s*\$([\d.]+) session\.)?/g;
const aiderText: Parser = (text) => {
  const u = empty();
  let matched = false;
  for (const m of text.matchAll(AIDER)) {
    matched = true;
    u.inputTokens = add(u.inputTokens, count(m[1]));
    u.cacheWriteTokens = add(u.cacheWriteTokens, count(m[2]));
    u.cacheReadTokens = add(u.cacheReadTokens, count(m[3]));
    u.outputTokens = add(u.outputTokens, count(m[4]));
    if (m[6] !== undefined) u.costUsd = Number(m[6]);
  }
  return matched ? u : null;
};

const geminiJson: Parser = (text, lines) => {
  for (const o of jsonObjects(lines, text)) {
    const stats = obj(o.stats);
    if (!stats) continue;
    const u = empty();
    const models = obj(stats.models);
    if (models) {
      for (const m of Object.values(models)) {
        const t = obj(obj(m)?.tokens);
        if (!t) continue;
        u.inputTokens = add(u.inputTokens, t.prompt);
        u.outputTokens = add(u.outputTokens, t.candidates);
        u.cacheReadTokens = add(u.cacheReadTokens, t.cached);
        u.totalTokens = add(u.totalTokens, t.total);
      }
    } else if (o.type === 'result') {
      u.inputTokens = add(null, stats.input_tokens);
      u.outputTokens = add(null, stats.output_tokens);
      u.totalTokens = add(null, stats.total_tokens);
    }
    if (hasAny(u)) return u;
  }
  return null;
};

const opencodeJson: Parser = (text, lines) => {
  const u = empty();
  for (const o of jsonObjects(lines, text)) {
    const part = obj(o.part) ?? o;
    const t = obj(part.tokens);
    if (!t || !('input' in t || 'output' in t)) continue;
    u.inputTokens = add(u.inputTokens, t.input);
    u.outputTokens = add(u.outputTokens, t.output);
    const cache = obj(t.cache);
    if (cache) {
      u.cacheReadTokens = add(u.cacheReadTokens, cache.read);
      u.cacheWriteTokens = add(u.cacheWriteTokens, cache.write);
    }
    u.costUsd = add(u.costUsd, part.cost);
  }
  return hasAny(u) ? u : null;
};

const jsonUsage: Parser = (text, lines) => {
  for (const o of jsonObjects(lines, text)) {
    const usage = obj(o.usage);
    if (!usage) continue;
    const u = empty();
    u.inputTokens = add(null, usage.input_tokens ?? usage.prompt_tokens);
    u.outputTokens = add(null, usage.output_tokens ?? usage.completion_tokens);
    u.totalTokens = add(null, usage.total_tokens);
    u.costUsd = add(null, o.total_cost_usd ?? o.cost_usd);
    if (hasAny(u)) return u;
  }
  return null;
};

const PARSERS: Record<string, Parser[]> = {
  'claude-code': [claudeJson, claudeText],
  codex: [codexJson, codexText],
  aider: [aiderText],
  'gemini-cli': [geminiJson],
  opencode: [opencodeJson],
};
const PARSER_NAME = new Map<Parser, string>([
  [claudeJson, 'claude-code'],
  [claudeText, 'claude-code'],
  [codexJson, 'codex'],
  [codexText, 'codex'],
  [aiderText, 'aider'],
  [geminiJson, 'gemini-cli'],
  [opencodeJson, 'opencode'],
  [jsonUsage, 'json-usage'],
]);
/** Structured shapes first (they cannot be mistaken), then text summaries. */
const FALLBACK_ORDER: Parser[] = [claudeJson, geminiJson, codexJson, opencodeJson, jsonUsage, claudeText, aiderText, codexText];

/** Usage reported in `output`, trying the profile's own CLI first; null when no shape matches. */
export function parseUsage(output: string, agentType?: string | null): UsageReport | null {
  const text = output.length > TAIL_BYTES ? output.slice(-TAIL_BYTES) : output;
  if (!text.trim()) return null;
  const lines = text.split(/\r?\n/);
  const own = (agentType && PARSERS[agentType]) || [];
  for (const p of [...own, ...FALLBACK_ORDER.filter((x) => !own.includes(x))]) {
    const r = p(text, lines);
    if (r) return { parser: PARSER_NAME.get(p)!, ...r };
  }
  return null;
}
