/**
 * The schedules API (`/api/schedules`) is being built alongside this app; its schemas are not in
 * @rexec/shared yet. This reads the few fields the pages show, and `schedulesAvailable()` tells
 * whether the relay has the API at all (a 404 means not yet: pages say so and show nothing).
 */
import type { RunStatus } from '@rexec/shared';
import { request, routeExists, type Page } from './api.js';

export interface ScheduleSummary {
  id: string;
  name: string;
  promptId: string | null;
  promptName: string | null;
  agentName: string | null;
  agentTag: string | null;
  cronExpression: string;
  timezone: string;
  enabled: boolean;
  lastRunStatus: RunStatus | null;
  lastFireTime: string | null;
  nextRunTime: string | null;
}

let available: Promise<boolean> | null = null;

export function schedulesAvailable(): Promise<boolean> {
  available ??= routeExists('/api/schedules?limit=1').catch(() => {
    available = null;
    return false;
  });
  return available;
}

export async function listSchedules(): Promise<ScheduleSummary[]> {
  return (await request<Page<ScheduleSummary>>('GET', '/api/schedules?limit=500')).items;
}

export function setScheduleEnabled(id: string, enabled: boolean): Promise<unknown> {
  return request('POST', `/api/schedules/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`, {});
}

/** "every 5 minutes", "at 02:30 every day"... for the common shapes; the expression otherwise. */
export function cronInWords(expr: string): string {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return expr;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const days: Record<string, string> = { '*': 'every day', '1-5': 'on weekdays', '0,6': 'on weekends', '0': 'on Sundays', '1': 'on Mondays', '2': 'on Tuesdays', '3': 'on Wednesdays', '4': 'on Thursdays', '5': 'on Fridays', '6': 'on Saturdays' };
  if (dom === '*' && mon === '*') {
    const step = /^\*\/(\d+)$/.exec(min);
    if (step && hour === '*' && dow === '*') return `every ${step[1]} minutes`;
    if (min === '*' && hour === '*' && dow === '*') return 'every minute';
    if (/^\d+$/.test(min) && hour === '*' && dow === '*') return `every hour at :${min.padStart(2, '0')}`;
    if (/^\d+$/.test(min) && /^\d+$/.test(hour) && days[dow]) return `at ${hour.padStart(2, '0')}:${min.padStart(2, '0')} ${days[dow]}`;
  }
  if (/^\d+$/.test(min) && /^\d+$/.test(hour) && /^\d+$/.test(dom) && mon === '*' && dow === '*') return `at ${hour.padStart(2, '0')}:${min.padStart(2, '0')} on day ${dom} of every month`;
  return expr;
}

/** "in 3 h 12 min", "in 42 s", "due". */
export function countdown(iso: string | null, now: number): string {
  if (!iso) return '—';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'due';
  if (s < 60) return `in ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `in ${h} h ${m % 60} min`;
  return `in ${Math.floor(h / 24)} d ${h % 24} h`;
}
