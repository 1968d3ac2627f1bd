/** The live-event and agent-update schemas: what the relay sends and what PATCH /api/agents accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_EVENT_TYPES, agentToRelaySchema, relayEventSchema, updateAgentRequestSchema } from '../src/index.js';

const sample = { ts: 1, cpuPercent: 12.5, memUsedBytes: 1, memTotalBytes: 2, diskUsedBytes: null, diskTotalBytes: null, load: [0.1, 0.2, 0.3], uptimeSeconds: 5, netRxBytesPerSec: null, netTxBytesPerSec: 3 };

test('events: every type is listed; a metrics event parses; unknown types and bad samples do not', () => {
  assert.ok(RELAY_EVENT_TYPES.includes('run.finished') && RELAY_EVENT_TYPES.includes('agent.metrics') && RELAY_EVENT_TYPES.includes('stream.reset'), `types: ${RELAY_EVENT_TYPES.join(',')}`);
  assert.ok(relayEventSchema.safeParse({ type: 'agent.metrics', agentId: 'a', sample }).success, 'a metrics event parses');
  assert.ok(!relayEventSchema.safeParse({ type: 'agent.exploded', agentId: 'a' }).success, 'an unknown type is refused');
  assert.ok(!relayEventSchema.safeParse({ type: 'agent.metrics', agentId: 'a', sample: { ...sample, cpuPercent: 140 } }).success, 'cpu over 100% is refused');
  assert.ok(relayEventSchema.safeParse({ type: 'schedule.fired', scheduleId: 's', name: 'n', status: 'fired', runIds: ['r'] }).success, 'a fire parses');
});

test('the metrics message belongs to the agent link', () => {
  assert.ok(agentToRelaySchema.safeParse({ type: 'metrics', sample }).success, 'metrics parses as an agent message');
  assert.ok(!agentToRelaySchema.safeParse({ type: 'metrics', sample: { ...sample, load: [1, 2] } }).success, 'three load averages are required');
});

test('agent update: a name and/or tags; nothing else, nothing empty', () => {
  assert.ok(updateAgentRequestSchema.safeParse({ name: 'web-2' }).success, 'a name alone');
  assert.ok(updateAgentRequestSchema.safeParse({ tags: ['a', 'b'] }).success, 'tags alone');
  assert.ok(!updateAgentRequestSchema.safeParse({}).success, 'an empty change is refused');
  assert.ok(!updateAgentRequestSchema.safeParse({ name: 'has space' }).success, 'an invalid name is refused');
  assert.ok(!updateAgentRequestSchema.safeParse({ name: 'ok', shell: '/bin/sh' }).success, 'unknown fields are refused');
});
