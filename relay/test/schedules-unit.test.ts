/**
 * The pure parts of schedules, analytics and notifications: cron checking (invalid and
 * never-firing expressions refused fast), fire times across DST in America/New_York, previews,
 * overlap arithmetic for conflict detection, usage parsers for the common CLIs, webhook
 * signatures, the test clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RexecError } from '@rexec/shared';
import { compileCron, formatLocal } from '../src/schedules/cron.js';
import { firstOverlap, mergeIntervals } from '../src/schedules/conflicts.js';
import { FakeClock, parseTestClock, ScaledClock } from '../src/schedules/clock.js';
import { parseCount, parseUsage } from '../src/analytics/usage-parsers.js';
import { signPayload, verifySignature } from '../src/notify/signature.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const NY = 'America/New_York';

test('invalid, never-firing and malformed expressions are refused fast with a clear message', () => {
  const cases: [string, string, RegExp][] = [
    ['61 * * * *', 'UTC', /invalid cron expression "61 \* \* \* \*": Invalid value for minute: 61/],
    ['0 0 30 2 *', 'UTC', /never fires/],
    ['0 0 31 4 *', 'UTC', /never fires/],
    ['garbage', 'UTC', /5 fields .* got 1/],
    ['* * * * * *', 'UTC', /5 fields .* got 6/],
    ['*/0 * * * *', 'UTC', /illegal stepping/],
    ['0 25 * * *', 'UTC', /Invalid value for hour: 25/],
    ['@daily', 'UTC', /5 fields/],
    ['? * * * *', 'UTC', /characters cron does not know/],
    ['* * * * *', 'Mars/Olympus', /unknown time zone "Mars\/Olympus"/],
  ];
  const t0 = Date.now();
  for (const [expr, tz, msg] of cases) {
    assert.throws(() => compileCron(expr, tz, Date.parse('2026-01-01T00:00:00Z')), (err: unknown) => {
      assert.ok(err instanceof RexecError, `${expr}: ${String(err)}`);
      assert.equal(err.code, 'validation_failed');
      assert.match(err.message, msg);
      return true;
    });
  }
  assert.ok(Date.now() - t0 < 2000, `refused in ${Date.now() - t0} ms`);
  // Rare but real dates are fine: Feb 29 fires in leap years, day-of-month OR day-of-week as in Vixie cron.
  assert.equal(iso(compileCron('0 0 29 2 *', 'UTC', Date.parse('2026-01-01T00:00:00Z')).next(Date.parse('2026-01-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
  assert.equal(iso(compileCron('0 0 31 2 MON', 'UTC').next(Date.parse('2026-01-01T00:00:00Z'))), '2026-02-02T00:00:00.000Z', 'February 31st or any Monday in February');
});

test('next fire times: strictly after, in the zone, with previews and ranges', () => {
  const spec = compileCron('*/15 9-17 * * MON-FRI', 'Europe/Paris');
  const from = Date.parse('2026-01-02T16:40:00Z'); // Friday 17:40 in Paris
  assert.deepEqual(spec.nextN(3, from).map(iso), ['2026-01-02T16:45:00.000Z', '2026-01-05T08:00:00.000Z', '2026-01-05T08:15:00.000Z']);
  const every = compileCron('* * * * *', 'UTC');
  const t = Date.parse('2026-01-01T00:01:00Z');
  assert.equal(iso(every.next(t)), '2026-01-01T00:02:00.000Z', 'strictly after');
  assert.equal(iso(every.previous(t)), '2026-01-01T00:01:00.000Z', 'at or before');
  assert.deepEqual(every.between(t, t + 3 * 60_000, 10).times.map(iso), ['2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z', '2026-01-01T00:04:00.000Z']);
  assert.deepEqual(every.between(t, t + 3600_000, 5), { times: every.nextN(5, t), truncated: true });
});

test('DST spring forward (America/New_York, 2026-03-08 02:00 EST -> 03:00 EDT)', () => {
  const day = Date.parse('2026-03-08T05:00:00Z'); // midnight EST
  // A fixed-time schedule inside the skipped hour fires once, at the first valid time (03:00 EDT).
  const fixed = compileCron('30 2 * * *', NY);
  assert.deepEqual(fixed.nextN(2, day).map(iso), ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
  assert.equal(formatLocal(fixed.next(day)!, NY), '2026-03-08 03:00 EDT');
  // An hourly (interval) schedule follows real time: 01:00 EST, then 03:00 EDT; no 02:00.
  const hourly = compileCron('0 * * * *', NY);
  assert.deepEqual(hourly.nextN(3, day + 30 * 60_000).map((t) => formatLocal(t, NY)), ['2026-03-08 01:00 EST', '2026-03-08 03:00 EDT', '2026-03-08 04:00 EDT']);
  // A schedule outside the gap is unaffected (01:30 EST, then 01:30 EDT the next day).
  assert.deepEqual(compileCron('30 1 * * *', NY).nextN(2, day).map(iso), ['2026-03-08T06:30:00.000Z', '2026-03-09T05:30:00.000Z']);
});

test('DST fall back (America/New_York, 2026-11-01 02:00 EDT -> 01:00 EST)', () => {
  const day = Date.parse('2026-11-01T04:00:00Z'); // midnight EDT
  // A fixed-time schedule in the repeated hour fires once, at the first 01:30 (EDT).
  const fixed = compileCron('30 1 * * *', NY);
  assert.deepEqual(fixed.nextN(2, day).map(iso), ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  assert.equal(formatLocal(fixed.next(day)!, NY), '2026-11-01 01:30 EDT');
  // An interval schedule fires at every real half hour: 01:00 and 01:30 happen twice.
  const half = compileCron('*/30 * * * *', NY);
  assert.deepEqual(half.between(day + 3600_000 - 1, day + 3 * 3600_000, 10).times.map((t) => formatLocal(t, NY)), [
    '2026-11-01 01:00 EDT',
    '2026-11-01 01:30 EDT',
    '2026-11-01 01:00 EST',
    '2026-11-01 01:30 EST',
    '2026-11-01 02:00 EST',
  ]);
  // 02:30 exists once (EST) and fires once.
  assert.deepEqual(compileCron('30 2 * * *', NY).nextN(1, day).map(iso), ['2026-11-01T07:30:00.000Z']);
});

test('conflict arithmetic: merged intervals and the first overlap', () => {
  assert.deepEqual(mergeIntervals([{ start: 5, end: 8 }, { start: 0, end: 3 }, { start: 2, end: 4 }]), [{ start: 0, end: 4 }, { start: 5, end: 8 }]);
  assert.equal(firstOverlap([{ start: 0, end: 10 }, { start: 100, end: 110 }], [{ start: 10, end: 20 }, { start: 105, end: 106 }]), 105, 'touching is not overlapping');
  assert.equal(firstOverlap([{ start: 0, end: 10 }], [{ start: 20, end: 30 }]), null);
  assert.equal(firstOverlap([{ start: 0, end: 50 }, { start: 40, end: 60 }], [{ start: 55, end: 70 }]), 55, 'overlapping intervals of one list are merged first');
});

test('usage parsers: Claude Code, Codex, Aider, Gemini CLI, OpenCode, API-style JSON; unknown output ignored', () => {
  assert.equal(parseCount('12,345'), 12345);
  assert.equal(parseCount('1.2k'), 1200);
  assert.equal(parseCount('1.1m'), 1100000);
  assert.ok(Number.isNaN(parseCount('lots')), 'not a count');

  const claudeJson = '{"type":"result","subtype":"success","is_error":false,"result":"Done.","total_cost_usd":0.1234,"usage":{"input_tokens":1200,"output_tokens":345,"cache_creation_input_tokens":50,"cache_read_input_tokens":9000}}';
  assert.deepEqual(parseUsage(`some text\n${claudeJson}\n`, 'claude-code'), {
    parser: 'claude-code', inputTokens: 1200, outputTokens: 345, cacheReadTokens: 9000, cacheWriteTokens: 50, totalTokens: null, costUsd: 0.1234,
  });
  const claudeText = 'Fixed the test.\nTotal cost:            $0.55\nTotal duration (API):  6m 19.7s\nUsage by model:\n    claude-3-5-haiku:  5.6k input, 306 output, 0 cache read, 0 cache write ($0.0057)\n       claude-sonnet-4:  1.2k input, 23.9k output, 1.1m cache read, 47.6k cache write ($0.5496)\n';
  assert.deepEqual(parseUsage(claudeText, 'claude-code'), {
    parser: 'claude-code', inputTokens: 6800, outputTokens: 24206, cacheReadTokens: 1100000, cacheWriteTokens: 47600, totalTokens: null, costUsd: 0.55,
  });
  assert.deepEqual(parseUsage('Total cost: $0.12\n', 'custom'), { parser: 'claude-code', inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, totalTokens: null, costUsd: 0.12 });

  assert.deepEqual(parseUsage('[2025-09-01T10:00:00] codex\nAll done.\ntokens used: 12,345\n', 'codex')?.totalTokens, 12345);
  assert.deepEqual(parseUsage('codex\nAll done.\ntokens used\n4,321\n', 'codex')?.totalTokens, 4321);
  const codexJson = ['{"type":"thread.started"}', '{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":40,"output_tokens":7}}', '{"type":"turn.completed","usage":{"input_tokens":200,"cached_input_tokens":0,"output_tokens":3}}'].join('\n');
  assert.deepEqual(parseUsage(codexJson, 'codex'), { parser: 'codex', inputTokens: 300, outputTokens: 10, cacheReadTokens: 40, cacheWriteTokens: null, totalTokens: null, costUsd: null });

  const aider = 'Applied edit to app.py\nTokens: 2.3k sent, 120 received. Cost: $0.0100 message, $0.0100 session.\nTokens: 4.5k sent, 1.1k cache write, 2k cache hit, 300 received. Cost: $0.02 message, $0.03 session.\n';
  assert.deepEqual(parseUsage(aider, 'aider'), { parser: 'aider', inputTokens: 6800, outputTokens: 420, cacheReadTokens: 2000, cacheWriteTokens: 1100, totalTokens: null, costUsd: 0.03 });

  const gemini = JSON.stringify({ response: 'ok', stats: { models: { 'gemini-2.5-pro': { tokens: { prompt: 900, candidates: 100, total: 1100, cached: 300, thoughts: 100 } }, 'gemini-2.5-flash': { tokens: { prompt: 10, candidates: 5, total: 15, cached: 0 } } } } }, null, 2);
  assert.deepEqual(parseUsage(gemini, 'gemini-cli'), { parser: 'gemini-cli', inputTokens: 910, outputTokens: 105, cacheReadTokens: 300, cacheWriteTokens: null, totalTokens: 1115, costUsd: null });

  const opencode = '{"type":"step_finish","part":{"type":"step-finish","tokens":{"input":50,"output":20,"reasoning":0,"cache":{"read":5,"write":1}},"cost":0.002}}\n{"type":"step_finish","part":{"type":"step-finish","tokens":{"input":10,"output":2,"cache":{"read":0,"write":0}},"cost":0.001}}';
  const oc = parseUsage(opencode, 'opencode')!;
  assert.equal(oc.parser, 'opencode');
  assert.deepEqual([oc.inputTokens, oc.outputTokens, oc.cacheReadTokens, oc.cacheWriteTokens], [60, 22, 5, 1]);
  assert.ok(Math.abs(oc.costUsd! - 0.003) < 1e-9, String(oc.costUsd));

  assert.deepEqual(parseUsage('{"id":"x","usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}', 'custom'), {
    parser: 'json-usage', inputTokens: 11, outputTokens: 22, cacheReadTokens: null, cacheWriteTokens: null, totalTokens: 33, costUsd: null,
  });

  for (const unknown of ['', 'hello world\n', 'the total cost is high\n', '{"not":"usage"}', 'Tokens: many sent\n']) assert.equal(parseUsage(unknown, 'claude-code'), null, JSON.stringify(unknown));
});

test('webhook signatures: HMAC-SHA256 over timestamp.body, constant-time check, stale timestamps refused', () => {
  const body = '{"event":"run.failed"}';
  const sig = signPayload('whsec_test', 1_700_000_000, body);
  assert.match(sig, /^sha256=[0-9a-f]{64}$/);
  assert.equal(verifySignature('whsec_test', '1700000000', body, sig, 1_700_000_010), true);
  assert.equal(verifySignature('whsec_other', '1700000000', body, sig, 1_700_000_010), false, 'wrong secret');
  assert.equal(verifySignature('whsec_test', '1700000000', body + ' ', sig, 1_700_000_010), false, 'changed body');
  assert.equal(verifySignature('whsec_test', '1700000001', body, sig, 1_700_000_010), false, 'changed timestamp');
  assert.equal(verifySignature('whsec_test', '1700000000', body, sig, 1_700_001_000), false, 'replayed too late');
});

test('clocks: a fake clock moves only when told; the test clock runs scaled from its start', () => {
  const fake = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  fake.advance(90_000);
  assert.equal(iso(fake.now()), '2026-01-01T00:01:30.000Z');
  const base = new FakeClock(1_000_000);
  const scaled = new ScaledClock(Date.parse('2026-03-08T06:58:00Z'), 1_000_000, 60, base);
  base.advance(2000); // two real seconds = two minutes
  assert.equal(iso(scaled.now()), '2026-03-08T07:00:00.000Z');
  assert.ok(Math.abs(parseTestClock(`start=2026-01-01T00:00:00Z,anchor=${Date.now()},scale=60`).now() - Date.parse('2026-01-01T00:00:00Z')) < 5000, 'starts at its start');
  assert.throws(() => parseTestClock('scale=60'), /REXEC_SCHEDULER_TEST_CLOCK/);
});
