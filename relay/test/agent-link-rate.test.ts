/**
 * Rate limits on an agent link: output frames have their own, larger budget than control
 * messages. An agent with busy terminals sends thousands of small frames a second (flow control
 * paces them); counted as control messages they closed the link with 4008 and detached every
 * session of the agent. A runaway agent (output frames beyond their own budget) and a flood of
 * control messages are still cut off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CloseCode, FrameKind, encodeFrame } from '@rexec/shared';
import { TerminalClient, connectRawAgent, startRelay, waitUntil, type RawAgentLink, type RelayProc } from './harness.js';

let relay: RelayProc;
before(async () => {
  relay = await startRelay();
});
after(() => relay.stop());

/** A raw agent link that answers shell_start, so that a viewer's terminal gets a session. */
async function fakeAgent(name: string): Promise<RawAgentLink & { started: Promise<string> }> {
  const link = await connectRawAgent(relay, name);
  const started = new Promise<string>((resolve) => {
    link.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(data.toString()) as { type: string; sessionId?: string; cols?: number; rows?: number };
      if (msg.type !== 'shell_start') return;
      link.ws.send(JSON.stringify({ type: 'shell_started', sessionId: msg.sessionId, pid: 1, cols: msg.cols, rows: msg.rows }));
      resolve(msg.sessionId!);
    });
  });
  return { ...link, started };
}

test('thousands of small output frames a second keep the agent link open and all reach the viewer', { timeout: 60_000 }, async () => {
  const agent = await fakeAgent('many-frames');
  const term = await TerminalClient.open(relay, 'many-frames', { keepText: false });
  const sessionId = await agent.started;
  const FRAMES = 12_000; // the control-message budget is 4000 at once, then 2000 a second
  const payload = Buffer.alloc(64, 0x78);
  for (let i = 0; i < FRAMES; i++) agent.ws.send(encodeFrame(FrameKind.ShellOutput, sessionId, i * payload.length, payload));
  await waitUntil('every frame at the viewer', () => term.bytes === FRAMES * payload.length, 30_000);
  assert.equal(agent.ws.readyState, WebSocket.OPEN, 'the agent link is still open');
  term.close();
  agent.ws.close();
});

test('a runaway agent is still cut off: more output frames than their own budget close the link with 4008', { timeout: 60_000 }, async () => {
  const agent = await fakeAgent('runaway');
  // Frames of a session the relay does not know are dropped after the rate check: only the
  // budget (burst 40 000, then 20 000 a second) is exercised. The relay takes these faster than
  // the budget refills, so it runs out well before the last one.
  const frame = encodeFrame(FrameKind.ShellOutput, 'no-such-session', 0, Buffer.alloc(16, 0x78));
  for (let i = 0; i < 120_000 && agent.ws.readyState === WebSocket.OPEN; i++) agent.ws.send(frame);
  const { code, reason } = await agent.closed;
  assert.equal(code, CloseCode.RateLimited, `closed with ${code} ${reason}`);
  assert.equal(reason, 'too many output frames');
});

test('a flood of control messages from an agent is still cut off with 4008', { timeout: 60_000 }, async () => {
  const agent = await fakeAgent('chatty');
  for (let i = 0; i < 12_000 && agent.ws.readyState === WebSocket.OPEN; i++) agent.ws.send('{"type":"pong","ts":1}');
  const { code, reason } = await agent.closed;
  assert.equal(code, CloseCode.RateLimited, `closed with ${code} ${reason}`);
  assert.equal(reason, 'too many messages');
});
