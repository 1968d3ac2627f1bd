import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHARE_MAX_SECONDS,
  clientToRelaySchema,
  createShareRequestSchema,
  looksLikeSecret,
  messageTypes,
  parseControlMessage,
  relayToClientSchema,
  statusForCode,
  ErrorCode,
} from '../src/index.js';

const relayTypes = messageTypes(relayToClientSchema);

test('viewers and shell_resized are relay-to-client messages; shell_attach may ask for read-only', () => {
  const v = parseControlMessage(
    relayToClientSchema,
    JSON.stringify({ type: 'viewers', sessionId: 's1', viewers: [{ id: 'v1', name: 'alice', kind: 'user', mode: 'ro', since: new Date(0).toISOString(), owner: false, sizeOwner: false, you: true }] }),
    relayTypes,
  );
  assert.ok(v.ok && v.message.type === 'viewers' && v.message.viewers[0]?.mode === 'ro', 'viewers parses');
  const bad = parseControlMessage(relayToClientSchema, JSON.stringify({ type: 'viewers', sessionId: 's1', viewers: [{ id: 'v1', name: 'x', kind: 'user', mode: 'admin' }] }), relayTypes);
  assert.equal(bad.ok, false, 'an unknown mode is refused');
  const r = parseControlMessage(relayToClientSchema, JSON.stringify({ type: 'shell_resized', sessionId: 's1', cols: 120, rows: 40 }), relayTypes);
  assert.ok(r.ok, 'shell_resized parses');
  const a = clientToRelaySchema.safeParse({ type: 'shell_attach', sessionId: 's1', offset: 0, readOnly: true });
  assert.ok(a.success && a.data.type === 'shell_attach' && a.data.readOnly === true, 'readOnly is kept');
  assert.equal(statusForCode(ErrorCode.ReadOnly), 403);
});

test('share requests need a mode and an expiry of at most 7 days; labels are one line', () => {
  assert.equal(createShareRequestSchema.safeParse({ mode: 'ro' }).success, false, 'expiry required');
  assert.equal(createShareRequestSchema.safeParse({ mode: 'ro', expiresInSeconds: SHARE_MAX_SECONDS + 1 }).success, false, 'capped');
  assert.equal(createShareRequestSchema.safeParse({ mode: 'ro', expiresInSeconds: 59 }).success, false, 'at least a minute');
  assert.equal(createShareRequestSchema.safeParse({ mode: 'rw', expiresInSeconds: 600, label: 'a\nb' }).success, false, 'one line');
  const ok = createShareRequestSchema.parse({ mode: 'rw', expiresInSeconds: 600 });
  assert.equal(ok.label, '');
  assert.ok(looksLikeSecret(`rxs_${'A'.repeat(43)}`), 'share tokens are redacted from logs like the other secrets');
});
