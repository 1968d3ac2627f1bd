import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  LIMITS,
  agentToRelaySchema,
  clientToRelaySchema,
  execRequestSchema,
  messageTypes,
  parseControlMessage,
  registerAgentRequestSchema,
  relayToAgentSchema,
  closeReason,
  CloseCode,
  closeCodeName,
  FATAL_AGENT_CLOSE_CODES,
  backoffDelay,
} from '../src/index.js';

const relayTypes = messageTypes(relayToAgentSchema);
const agentTypes = messageTypes(agentToRelaySchema);

test('the protocol keeps the Rexec message names', () => {
  for (const t of ['shell_start', 'shell_input', 'shell_resize', 'shell_stop', 'ping', 'exec']) assert.ok(relayTypes.has(t), t);
  for (const t of ['shell_started', 'shell_stopped', 'shell_error', 'pong', 'exec_result']) assert.ok(agentTypes.has(t), t);
});

test('valid messages parse', () => {
  const r = parseControlMessage(relayToAgentSchema, JSON.stringify({ type: 'shell_start', sessionId: 's1', cols: 80, rows: 24 }), relayTypes);
  assert.ok(r.ok, 'r.ok');
  const e = parseControlMessage(relayToAgentSchema, JSON.stringify({ type: 'exec', execId: 'e1', argv: ['uname', '-a'], timeoutMs: 1000 }), relayTypes);
  assert.ok(e.ok && e.message.type === 'exec' && e.message.killGraceMs === 2000, 'killGraceMs defaults');
});

test('malformed input gets a stable error code and a readable message', () => {
  const cases: [string, ErrorCode][] = [
    ['{not json', ErrorCode.InvalidMessage],
    ['[]', ErrorCode.InvalidMessage],
    ['"hello"', ErrorCode.InvalidMessage],
    ['{"no":"type"}', ErrorCode.InvalidMessage],
    ['{"type":"rm_rf"}', ErrorCode.UnknownMessage],
    ['{"type":"shell_resize","sessionId":"s","cols":0,"rows":24}', ErrorCode.InvalidMessage],
    ['{"type":"shell_resize","sessionId":"s","cols":100000,"rows":24}', ErrorCode.InvalidMessage],
    ['{"type":"shell_input","sessionId":"../etc","data":"x"}', ErrorCode.InvalidMessage],
    ['{"type":"exec","execId":"e","timeoutMs":5}', ErrorCode.InvalidMessage],
    ['{"type":"exec","execId":"e","argv":["a"],"command":"b","timeoutMs":5}', ErrorCode.InvalidMessage],
  ];
  for (const [text, code] of cases) {
    const r = parseControlMessage(relayToAgentSchema, text, relayTypes);
    assert.equal(r.ok, false, text);
    if (!r.ok) {
      assert.equal(r.code, code, text);
      assert.ok(r.message.length > 5, r.message);
    }
  }
  const big = parseControlMessage(relayToAgentSchema, 'x'.repeat(LIMITS.maxControlMessageBytes + 1), relayTypes);
  assert.ok(!big.ok && big.code === ErrorCode.MessageTooLarge, '!big.ok && big.code === ErrorCode.MessageTooLarge');
});

test('input larger than the limit is refused', () => {
  const r = clientToRelaySchema.safeParse({ type: 'shell_input', data: 'x'.repeat(LIMITS.maxInputBytes + 1) });
  assert.equal(r.success, false);
});

test('registration validates names and tags and fills defaults', () => {
  const ok = registerAgentRequestSchema.parse({ name: 'web-1', tags: ['prod', 'eu'] });
  assert.equal(ok.shell, '/bin/bash');
  assert.deepEqual(ok.tags, ['prod', 'eu']);
  for (const bad of [{ name: '' }, { name: '-x' }, { name: 'a b' }, { name: 'x'.repeat(65) }, { name: 'ok', tags: ['has space'] }]) {
    assert.equal(registerAgentRequestSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('exec requests need exactly one of argv and command', () => {
  assert.ok(execRequestSchema.safeParse({ argv: ['ls'] }).success, 'execRequestSchema.safeParse({ argv: [\'ls\'] }).success');
  assert.ok(execRequestSchema.safeParse({ command: 'ls -la' }).success, 'execRequestSchema.safeParse({ command: \'ls -la\' }).success');
  assert.equal(execRequestSchema.safeParse({}).success, false);
  assert.equal(execRequestSchema.safeParse({ argv: ['ls'], command: 'ls' }).success, false);
  assert.equal(execRequestSchema.safeParse({ argv: [] }).success, false);
  assert.equal(execRequestSchema.safeParse({ command: 'x', env: { 'BAD-NAME': '1' } }).success, false);
});

test('close codes are application codes with names; auth failures are fatal for agents', () => {
  for (const [name, code] of Object.entries(CloseCode)) {
    if (code >= 4000) assert.ok(code <= 4999, name);
    assert.equal(closeCodeName(code), name);
  }
  assert.ok(FATAL_AGENT_CLOSE_CODES.has(CloseCode.Unauthorized), 'FATAL_AGENT_CLOSE_CODES.has(CloseCode.Unauthorized)');
  assert.ok(!FATAL_AGENT_CLOSE_CODES.has(CloseCode.GoingAway), '!FATAL_AGENT_CLOSE_CODES.has(CloseCode.GoingAway)');
  assert.ok(new TextEncoder().encode(closeReason('é'.repeat(200))).length <= 123, 'new TextEncoder().encode(closeReason(\'é\'.repeat(200))).length <= 123');
});

test('backoff grows exponentially, stays within the cap, and is jittered', () => {
  assert.equal(backoffDelay(0, 500, 30_000, () => 0), 250);
  assert.equal(backoffDelay(0, 500, 30_000, () => 1), 500);
  assert.equal(backoffDelay(3, 500, 30_000, () => 1), 4000);
  assert.equal(backoffDelay(50, 500, 30_000, () => 1), 30_000);
  const samples = new Set(Array.from({ length: 20 }, () => backoffDelay(5, 500, 30_000)));
  assert.ok(samples.size > 1, 'jitter varies the delay');
});

test('update schemas keep omitted fields omitted (no defaults on a partial update)', async () => {
  const { updateProfileSchema, updatePromptSchema } = await import('../src/index.js');
  assert.deepEqual(updateProfileSchema.parse({ icon: 'x' }), { icon: 'x' });
  assert.deepEqual(updatePromptSchema.parse({ tags: ['a'] }), { tags: ['a'] });
  assert.equal(updateProfileSchema.safeParse({ defaultTimeout: -1 }).success, false, 'validation still applies');
});
