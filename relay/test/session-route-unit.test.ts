/**
 * SessionRoute's acknowledgement forwarding, with a recording link (logic only; the flow-control
 * behaviour end to end is covered by resume.test.ts and flood.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentLink } from '../src/hub/agent-link.js';
import { ACK_DELAY_MS, ACK_FORWARD_BYTES, SessionRoute, type Viewer } from '../src/hub/session-route.js';

function setup() {
  const sent: { type: string; offset?: number }[] = [];
  const link = { send: (msg: { type: string; offset?: number }) => void sent.push(msg) } as unknown as AgentLink;
  const route = new SessionRoute(link, 's1', () => {});
  const viewer = {
    nextOffset: 0,
    bufferedAmount: 0,
    identity: { actor: 'user:a', name: 'a', kind: 'user', mode: 'rw', owner: true },
    sendFrame: () => {},
    onAttached: () => {},
    onStopped: () => {},
    onError: () => {},
    onGone: () => {},
    onViewers: () => {},
    onResized: () => {},
  } as unknown as Viewer;
  route.startNew(viewer);
  const acks = () => sent.filter((m) => m.type === 'shell_ack').map((m) => m.offset);
  return { route, viewer, acks };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('small acknowledgements are merged; one a quarter window ahead goes at once', async () => {
  const { route, viewer, acks } = setup();
  const step = 16 * 1024;
  viewer.nextOffset = 10 * step;
  route.ack(viewer, step);
  route.ack(viewer, 2 * step);
  route.ack(viewer, 3 * step);
  assert.deepEqual(acks(), [], 'below the threshold nothing is forwarded yet');
  route.ack(viewer, ACK_FORWARD_BYTES);
  assert.deepEqual(acks(), [ACK_FORWARD_BYTES], 'a quarter window: forwarded at once');
  route.ack(viewer, ACK_FORWARD_BYTES + step);
  assert.deepEqual(acks(), [ACK_FORWARD_BYTES], 'the next small one waits');
  await sleep(ACK_DELAY_MS * 4);
  assert.deepEqual(acks(), [ACK_FORWARD_BYTES, ACK_FORWARD_BYTES + step], 'and is forwarded after the delay');
  route.ack(viewer, ACK_FORWARD_BYTES);
  route.ack(viewer, 11 * step);
  await sleep(ACK_DELAY_MS * 4);
  assert.deepEqual(acks(), [ACK_FORWARD_BYTES, ACK_FORWARD_BYTES + step], 'old and not-yet-received offsets are ignored');
});

test('a pending acknowledgement is dropped once every viewer has left', async () => {
  const { route, viewer, acks } = setup();
  viewer.nextOffset = 1000;
  route.ack(viewer, 1000);
  route.detach(viewer);
  await sleep(ACK_DELAY_MS * 4);
  assert.deepEqual(acks(), [], 'nothing sent for a session nobody watches');
});
