/**
 * Small SVG charts (no library): horizontal bars (optionally split ok / bad) and a line over
 * time with run-count columns behind it. Colours come from CSS classes (`.chart .bar-ok` ...)
 * that use the theme's custom properties, so they follow light and dark. Each chart has a
 * `<title>` and every bar a tooltip, and an empty state when there is nothing to draw.
 */
import type { ComponentChildren } from 'preact';

export interface BarDatum {
  label: string;
  /** Bar length (or the "ok" part when `bad` is given). */
  value: number;
  /** The red part after `value` (e.g. failed runs next to completed). */
  bad?: number;
  /** A path: clip the start of a long label, not its end. */
  path?: boolean;
  /** Shown at the end of the bar; default: the value. */
  note?: string;
  title?: string;
  href?: string;
}

const W = 560;

/** Fits a label in the label column (about 24 characters): paths keep their end, names their start. */
function clipLabel(s: string, fromStart = false, max = 24): string {
  if (s.length <= max) return s;
  return fromStart ? `…${s.slice(s.length - max + 1)}` : `${s.slice(0, max - 1)}…`;
}

export function ChartEmpty({ children }: { children: ComponentChildren }) {
  return (
    <div class="chart-empty" data-testid="chart-empty">
      {children}
    </div>
  );
}

/** Horizontal bars, one per row, scaled to `max` (default: the largest total). */
export function BarChart({ data, title, max, kind = 'accent', testid, empty = 'No data in this period.' }: { data: BarDatum[]; title: string; max?: number; kind?: 'accent' | 'split'; testid?: string; empty?: string }) {
  if (data.length === 0) return <ChartEmpty>{empty}</ChartEmpty>;
  const row = 26;
  const labelW = 170;
  const noteW = 96;
  const barW = W - labelW - noteW;
  const top = Math.max(1, max ?? Math.max(...data.map((d) => d.value + (d.bad ?? 0))));
  const h = data.length * row + 4;
  return (
    <svg class="chart chart-bars" viewBox={`0 0 ${W} ${h}`} role="img" aria-label={title} data-testid={testid} data-rows={data.length}>
      <title>{title}</title>
      {data.map((d, i) => {
        const y = i * row + 4;
        const okW = (d.value / top) * barW;
        const badW = ((d.bad ?? 0) / top) * barW;
        const label = (
          <text class="chart-label" x={labelW - 8} y={y + 13} text-anchor="end">
            {clipLabel(d.label, d.path)}
          </text>
        );
        return (
          <g class="bar-row" data-label={d.label}>
            <title>{d.title ?? `${d.label}: ${d.note ?? d.value}`}</title>
            {d.href ? <a href={d.href}>{label}</a> : label}
            <rect class="bar-track" x={labelW} y={y + 2} width={barW} height={row - 10} rx={3} />
            {okW > 0 ? <rect class={kind === 'split' ? 'bar-ok' : 'bar-accent'} x={labelW} y={y + 2} width={Math.max(2, okW)} height={row - 10} rx={3} /> : null}
            {badW > 0 ? <rect class="bar-bad" x={labelW + okW} y={y + 2} width={Math.max(2, badW)} height={row - 10} rx={3} /> : null}
            <text class="chart-value" x={labelW + barW + 8} y={y + 13}>
              {d.note ?? String(d.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export interface SeriesPoint {
  /** Bucket start (ISO). */
  at: string;
  value: number | null;
  /** Drawn as grey columns behind the line (e.g. runs per bucket). */
  count?: number;
}

/** A line (null values break it) over time buckets, with optional count columns behind it. */
export function LineChart({ data, title, format, testid, empty = 'No runs in this period.', bucket }: { data: SeriesPoint[]; title: string; format: (v: number) => string; testid?: string; empty?: string; bucket: 'hour' | 'day' | 'week' }) {
  if (data.length === 0 || data.every((d) => d.value === null && !d.count)) return <ChartEmpty>{empty}</ChartEmpty>;
  const H = 200;
  const padL = 56;
  const padR = 12;
  const padT = 10;
  const padB = 24;
  const iw = W - padL - padR;
  const ih = H - padT - padB;
  const vals = data.map((d) => d.value ?? 0);
  const top = niceMax(Math.max(...vals, 0.001));
  const maxCount = Math.max(1, ...data.map((d) => d.count ?? 0));
  const step = iw / data.length;
  const x = (i: number) => padL + step * i + step / 2;
  const y = (v: number) => padT + ih - (v / top) * ih;
  const segs: string[] = [];
  let cur = '';
  data.forEach((d, i) => {
    if (d.value === null) {
      if (cur) segs.push(cur);
      cur = '';
      return;
    }
    cur += `${cur ? 'L' : 'M'}${x(i).toFixed(1)},${y(d.value).toFixed(1)}`;
  });
  if (cur) segs.push(cur);
  const ticks = [0, top / 2, top];
  const labelEvery = Math.max(1, Math.ceil(data.length / 8));
  const fmtBucket = (iso: string) => {
    const d = new Date(iso);
    return bucket === 'hour' ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  };
  return (
    <svg class="chart chart-line" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-testid={testid} data-points={data.filter((d) => d.value !== null).length}>
      <title>{title}</title>
      {ticks.map((t) => (
        <g>
          <line class="grid-line" x1={padL} x2={W - padR} y1={y(t)} y2={y(t)} />
          <text x={padL - 6} y={y(t) + 4} text-anchor="end">
            {format(t)}
          </text>
        </g>
      ))}
      {data.map((d, i) =>
        d.count ? (
          <rect class="bar-runs" x={x(i) - Math.min(14, step * 0.35)} width={Math.min(28, step * 0.7)} y={padT + ih - (d.count / maxCount) * ih * 0.5} height={(d.count / maxCount) * ih * 0.5}>
            <title>
              {fmtBucket(d.at)}: {d.count} run{d.count === 1 ? '' : 's'}
            </title>
          </rect>
        ) : null,
      )}
      {segs.map((p) => (
        <path class="line" d={p} />
      ))}
      {data.map((d, i) =>
        d.value !== null ? (
          <circle class="dot" cx={x(i)} cy={y(d.value)} r={3.5}>
            <title>
              {fmtBucket(d.at)}: {format(d.value)}
              {d.count !== undefined ? ` (${d.count} run${d.count === 1 ? '' : 's'})` : ''}
            </title>
          </circle>
        ) : null,
      )}
      {data.map((d, i) =>
        i % labelEvery === 0 ? (
          <text x={x(i)} y={H - 6} text-anchor="middle">
            {fmtBucket(d.at)}
          </text>
        ) : null,
      )}
    </svg>
  );
}

/**
 * A small line of recent values (host metrics), scaled to `max` (default: the largest value).
 * No axes: the figure next to it says the current value.
 */
export function Sparkline({ values, title, max, testid }: { values: number[]; title: string; max?: number; testid?: string }) {
  const w = 120;
  const h = 28;
  if (values.length < 2) return <svg class="chart sparkline" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title} data-testid={testid} data-points={values.length} />;
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const step = w / (values.length - 1);
  const y = (v: number) => h - 2 - (Math.max(0, v) / top) * (h - 4);
  const d = values.map((v, i) => `${i ? 'L' : 'M'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join('');
  return (
    <svg class="chart sparkline" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={title} data-testid={testid} data-points={values.length}>
      <title>{title}</title>
      <path class="area" d={`${d}L${w},${h}L0,${h}Z`} />
      <path class="line" d={d} />
    </svg>
  );
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function Legend({ items }: { items: { label: string; cls: string }[] }) {
  return (
    <div class="chart-legend">
      {items.map((i) => (
        <span>
          <i class={`swatch swatch-${i.cls}`} aria-hidden="true" />
          {i.label}
        </span>
      ))}
    </div>
  );
}
