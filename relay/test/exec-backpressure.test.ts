/**
 * Exec output backpressure end to end: a client that stops reading the exec's response stream
 * stops the command (the relay sends exec_flow, the agent stops reading its pipes), instead of the
 * relay taking in everything the command writes; once the client reads again, the output arrives
 * in full and the command finishes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startAgent, startRelay, waitUntil, type AgentProc, type RelayProc } from './harness.js';
import { rssOf } from './proc-stats.js';

let relay: RelayProc;
let agent: AgentProc;
before(async () => {
  relay = await startRelay();
  agent = await startAgent(relay, { name: 'bp' });
});
after(async () => {
  await agent.stop();
  await relay.stop();
});

test('a client that stops reading blocks the command; reading again delivers everything', async () => {
  const marker = `/tmp/rexec-exec-bp-${process.pid}`;
  fs.rmSync(marker, { force: true });
  // 40 MB of zeros as base64: far more than the kernel's socket buffers hold. The agent forwards
  // the first 10 MiB (the per-stream cap) and would read and drop the rest without pausing, so
  // the command would finish and write the marker while the client reads nothing.
  const command = `head -c 40000000 /dev/zero | base64 -w 0; touch ${marker}`;
  const relayBefore = rssOf(relay.proc.pid!);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(new URL('/api/agents/bp/exec', relay.url), { method: 'POST', headers: { Authorization: `Bearer ${relay.apiToken}`, 'Content-Type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(JSON.stringify({ command, timeoutSec: 60 }));
  });
  assert.equal(res.statusCode, 200);
  res.pause(); // read nothing for now
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(fs.existsSync(marker), false, 'the command is blocked while the client does not read');
  const relayGrowth = (rssOf(relay.proc.pid!) - relayBefore) / 1024 / 1024;
  assert.ok(relayGrowth < 16, `the relay grew ${relayGrowth.toFixed(1)} MiB while the client stalled`);

  let text = '';
  res.setEncoding('utf8');
  res.on('data', (d: string) => (text += d));
  res.resume();
  await new Promise((r) => res.once('end', r));
  const events = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: string; truncated?: boolean; exitCode?: number });
  const bytes = events.filter((e) => e.type === 'output').reduce((n, e) => n + Buffer.from(e.data!, 'base64').length, 0);
  const exit = events.at(-1)!;
  assert.equal(exit.type, 'exit', `the stream ends with the result: ${JSON.stringify(exit)}`);
  assert.equal(exit.exitCode, 0, 'the command ran to its end');
  assert.equal(exit.truncated, true, 'beyond the cap the output was dropped');
  assert.equal(bytes, 10 * 1024 * 1024, 'the client got every byte up to the per-stream cap');
  await waitUntil('the marker', () => fs.existsSync(marker), 5000);
  fs.rmSync(marker, { force: true });
});
