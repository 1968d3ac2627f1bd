import assert from 'node:assert/strict';
import test from 'node:test';
import { linkMaskOptions } from '../src/link.js';

const maskOf = (url: string): Buffer | null => {
  const o = linkMaskOptions(url);
  if (!o.generateMask) return null;
  const mask = Buffer.from([9, 9, 9, 9]);
  o.generateMask(mask);
  return mask;
};

test('zero masks over TLS and on loopback, random masks (ws default) for cleartext across a network', () => {
  for (const url of ['wss://relay.example.com/ws/agent/a', 'ws://127.0.0.1:8420/ws/agent/a', 'ws://127.8.9.1/ws/agent/a', 'ws://localhost:1/x', 'ws://[::1]:8420/x']) {
    assert.deepEqual(maskOf(url), Buffer.alloc(4), `zero mask for ${url}`);
  }
  for (const url of ['ws://relay.example.com/ws/agent/a', 'ws://10.0.0.5:8420/x', 'ws://127.example.com/x']) {
    assert.equal(maskOf(url), null, `ws default masking for ${url}`);
  }
});
