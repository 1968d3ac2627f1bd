/**
 * Host metrics: the sampler's output matches the protocol schema with plausible figures on this
 * machine, network rates appear from the second sample, the interval setting's precedence and
 * checks, and the reporter going quiet when the relay does not know the message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { hostMetricsSchema, metricsMessageSchema, type MetricsMessage } from '@rexec/shared';
import { MetricsReporter, MetricsSampler, metricsIntervalSetting } from '../src/metrics.js';
import { silentLogger } from '../src/logger.js';

test('a sample has the protocol shape and plausible figures', async () => {
  const sampler = new MetricsSampler();
  const first = await sampler.sample();
  const parsed = hostMetricsSchema.safeParse(first);
  assert.ok(parsed.success, `the sample matches hostMetricsSchema: ${JSON.stringify(parsed.error?.issues)}`);
  assert.ok(first.memTotalBytes > 0 && first.memTotalBytes === os.totalmem(), `total memory is the host's (${first.memTotalBytes} vs ${os.totalmem()})`);
  assert.ok(first.memUsedBytes > 0 && first.memUsedBytes <= first.memTotalBytes, `used memory is within the total (${first.memUsedBytes})`);
  assert.ok(first.cpuPercent >= 0 && first.cpuPercent <= 100, `cpu is a percentage (${first.cpuPercent})`);
  assert.ok(first.uptimeSeconds > 0, 'uptime is known');
  assert.ok(Math.abs(first.ts - Date.now()) < 10_000, 'the sample time is now');
  if (first.diskTotalBytes !== null) assert.ok(first.diskUsedBytes !== null && first.diskUsedBytes <= first.diskTotalBytes, 'the root disk use is within its size');
  assert.equal(first.netRxBytesPerSec, null, 'no network rate before a second sample');
  await new Promise((r) => setTimeout(r, 300));
  const second = await sampler.sample();
  assert.ok(second.netRxBytesPerSec !== null && second.netRxBytesPerSec >= 0, `a receive rate from the second sample (${second.netRxBytesPerSec})`);
  assert.ok(second.netTxBytesPerSec !== null && second.netTxBytesPerSec >= 0, `a send rate from the second sample (${second.netTxBytesPerSec})`);
  assert.ok(metricsMessageSchema.safeParse({ type: 'metrics', sample: second }).success, 'it travels as a metrics message');
});

test('the interval: flag > environment > config > 10 s; 0 turns it off; bad values are refused', () => {
  assert.equal(metricsIntervalSetting({}, {}), 10);
  assert.equal(metricsIntervalSetting({ metrics_interval: 30 }, {}), 30);
  assert.equal(metricsIntervalSetting({ metrics_interval: 30 }, { REXEC_AGENT_METRICS_INTERVAL: '5' }), 5);
  assert.equal(metricsIntervalSetting({ metrics_interval: 30 }, { REXEC_AGENT_METRICS_INTERVAL: '5' }, '0'), 0);
  assert.throws(() => metricsIntervalSetting({}, { REXEC_AGENT_METRICS_INTERVAL: 'often' }), /REXEC_AGENT_METRICS_INTERVAL must be a whole number/);
  assert.throws(() => metricsIntervalSetting({}, {}, '-1'), /--metrics-interval must be/);
  assert.throws(() => metricsIntervalSetting({ metrics_interval: 1.5 }, {}), /metrics_interval/);
});

test('the reporter sends samples while started, and stops when the relay refuses the message', async () => {
  const sent: MetricsMessage[] = [];
  const sampler = { sample: async () => ({ ...(await new MetricsSampler().sample()) }) } as MetricsSampler;
  const r = new MetricsReporter({ intervalSec: 1, send: (m) => (sent.push(m), true), logger: silentLogger, sampler });
  r.start();
  await new Promise((res) => setTimeout(res, 1500));
  assert.ok(sent.length >= 2, `a sample at once and one a second later (got ${sent.length})`);
  r.onRelayError({ code: 'unknown_message', ref: 'metrics' });
  const n = sent.length;
  await new Promise((res) => setTimeout(res, 1300));
  assert.equal(sent.length, n, 'no more samples after the relay said it does not know the message');
  r.start(); // the next connection tries again
  await new Promise((res) => setTimeout(res, 300));
  r.stop();
  assert.equal(sent.length, n + 1, 'a new connection sends again');
  const off = new MetricsReporter({ intervalSec: 0, send: (m) => (sent.push(m), true), logger: silentLogger });
  off.start();
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(sent.length, n + 1, 'interval 0 sends nothing');
});
