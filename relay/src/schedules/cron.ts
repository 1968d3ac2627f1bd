/**
 * Cron evaluation: 5-field expressions in an IANA time zone (croner underneath), checked once on
 * save with messages a person can act on.
 *
 * DST, as documented in relay/README.md (croner's rules):
 * - A fixed-time schedule (single minute and hour, e.g. `30 2 * * *`) whose wall-clock time falls
 *   in the hour skipped by spring forward fires at the first valid time after the gap (03:00 in
 *   America/New_York); on fall back, when its time occurs twice, it fires once, at the first.
 * - An interval schedule (a wildcard, step, list or range in minute or hour, e.g. `*\/30 * * * *`
 *   or `0 * * * *`) follows real elapsed time: nothing fires in the skipped hour, and the
 *   repeated hour fires twice (once per real instant).
 * Fire times are instants (UTC) everywhere else in the relay, so the exactly-once key never
 * depends on wall-clock ambiguity.
 */
import { Cron } from 'croner';
import { cronExpressionSchema, ErrorCode, isValidTimeZone, RexecError } from '@rexec/shared';

export interface CronSpec {
  expression: string;
  timezone: string;
  /** The first fire time strictly after `after`, or null if there is none. */
  next(after: number): number | null;
  /** The next `n` fire times strictly after `after`. */
  nextN(n: number, after: number): number[];
  /** The latest fire time at or before `at`, or null. */
  previous(at: number): number | null;
  /** Fire times in (after, until], at most `max` of them (truncated tells whether more exist). */
  between(after: number, until: number, max: number): { times: number[]; truncated: boolean };
}

/** How far ahead a schedule must fire at least once to be accepted (covers Feb 29 patterns). */
const MUST_FIRE_WITHIN_YEARS = 8;

function compile(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, mode: '5-part', paused: true });
}

/** Compiles a checked expression; throws RexecError(validation_failed) with a clear message. */
export function compileCron(expression: string, timezone: string, now: number = Date.now()): CronSpec {
  const shape = cronExpressionSchema.safeParse(expression);
  if (!shape.success) throw new RexecError(ErrorCode.ValidationFailed, `invalid cron expression: ${shape.error.issues[0]?.message}`);
  const expr = shape.data;
  if (!isValidTimeZone(timezone)) throw new RexecError(ErrorCode.ValidationFailed, `unknown time zone "${timezone}" (use an IANA name such as UTC or America/New_York)`);
  let job: Cron;
  try {
    job = compile(expr, timezone);
  } catch (err) {
    const msg = (err as Error).message.replace(/^CronPattern:\s*/, '');
    throw new RexecError(ErrorCode.ValidationFailed, `invalid cron expression "${expr}": ${msg}`);
  }
  const first = job.nextRun(new Date(now));
  if (!first || first.getTime() - now > MUST_FIRE_WITHIN_YEARS * 366 * 86_400_000) {
    throw new RexecError(ErrorCode.ValidationFailed, `cron expression "${expr}" never fires (no matching date, e.g. February 30th)`);
  }
  const next = (after: number) => job.nextRun(new Date(after))?.getTime() ?? null;
  return {
    expression: expr,
    timezone,
    next,
    nextN: (n, after) => job.nextRuns(n, new Date(after)).map((d) => d.getTime()),
    previous: (at) => job.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null,
    between(after, until, max) {
      const times: number[] = [];
      let t = next(after);
      while (t !== null && t <= until) {
        if (times.length === max) return { times, truncated: true };
        times.push(t);
        t = next(t);
      }
      return { times, truncated: false };
    },
  };
}

/** "2026-03-08 03:00 EDT": a fire time as wall-clock time in the schedule's zone. */
export function formatLocal(ms: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}
