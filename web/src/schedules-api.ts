/**
 * The schedules API (`/api/schedules`, shapes from @rexec/shared): list, create, update, delete,
 * enable / disable, run now, and the next fire times of an unsaved expression. A relay without
 * the API answers 404: `schedulesAvailable()` tells, and the pages say "not available".
 */
import type { CreateSchedule, PreviewResponse, RunView, ScheduleConflict, ScheduleView, UpdateSchedule } from '@rexec/shared';
import { qs, request, routeExists, type Page } from './api.js';

export type { ScheduleView };
/** @deprecated the full view from @rexec/shared; kept as an alias for older imports. */
export type ScheduleSummary = ScheduleView;
export interface ScheduleAnswer {
  schedule: ScheduleView;
  warnings: ScheduleConflict[];
}

let available: Promise<boolean> | null = null;

export function schedulesAvailable(): Promise<boolean> {
  available ??= routeExists('/api/schedules?limit=1').catch(() => {
    available = null;
    return false;
  });
  return available;
}

export async function listSchedules(): Promise<ScheduleView[]> {
  return (await request<Page<ScheduleView>>('GET', '/api/schedules?limit=500')).items;
}

export function setScheduleEnabled(id: string, enabled: boolean): Promise<ScheduleAnswer> {
  return request('POST', `/api/schedules/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`, {});
}
export function createSchedule(body: CreateSchedule): Promise<ScheduleAnswer> {
  return request('POST', '/api/schedules', body);
}
export function updateSchedule(id: string, body: UpdateSchedule): Promise<ScheduleAnswer> {
  return request('PUT', `/api/schedules/${encodeURIComponent(id)}`, body);
}
export function deleteSchedule(id: string): Promise<void> {
  return request('DELETE', `/api/schedules/${encodeURIComponent(id)}`);
}
export function runScheduleNow(id: string, force = false): Promise<{ runs: RunView[]; skipped: { agent: string; reason: string }[] }> {
  return request('POST', `/api/schedules/${encodeURIComponent(id)}/run`, { force });
}
export function previewCron(cron: string, timezone: string, n = 5, signal?: AbortSignal): Promise<PreviewResponse> {
  return request('GET', `/api/schedules/preview${qs({ cron, timezone, n })}`, undefined, { signal });
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
    if (/^\d+$/.test(min) && /^\d+$/.test(hour) && /^[0-6](,[0-6])+$/.test(dow)) {
      const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
      return `at ${hour.padStart(2, '0')}:${min.padStart(2, '0')} on ${dow.split(',').map((d) => names[Number(d)]).join(', ')}`;
    }
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
