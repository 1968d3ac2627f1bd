/**
 * The run follower's ordering when a run ends while the follower is still reading the run and
 * its stored chunks (logic only, with a scripted engine, database and socket). This race made
 * `rexec run --follow` print nothing for a run that finished within a few milliseconds: its
 * output had reached the follower, not yet the database, and was dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { CloseCode, decodeFrame, type RunView } from '@rexec/shared';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import type { RunEngine, RunWatcher } from '../src/runs/run-engine.js';
import { followRun } from '../src/ws/run-socket.js';

test('output that arrives while the follower reads the run is sent before the close, also when the run has ended by then', async () => {
  const sent: string[] = [];
  let closed: number | null = null;
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    send: (d: string | Uint8Array) => void sent.push(typeof d === 'string' ? `json:${(JSON.parse(d) as { run: RunView }).run.status}` : `out:${Buffer.from(decodeFrame(d).payload).toString()}`),
    close: (code: number) => void (closed = code),
    on: () => {},
  } as unknown as WebSocket;
  let watcher: RunWatcher | null = null;
  let releaseView!: () => void;
  const viewGate = new Promise<void>((r) => (releaseView = r));
  const run = (status: RunView['status']) => ({ id: 'r1', status }) as RunView;
  const engine = {
    watch: (_id: string, w: RunWatcher) => ((watcher = w), { pending: [], unwatch: () => {} }),
    // The run has ended by the time it is read; its output is not in the database yet.
    view: async () => (await viewGate, run('failed')),
  } as unknown as RunEngine;
  const prisma = { runOutputChunk: { findMany: async () => [] } } as unknown as PrismaClient;

  followRun(ws, 'r1', 0, engine, prisma);
  watcher!.output('stdout', 0, Buffer.from('via-cli\n'));
  watcher!.update(run('failed'));
  releaseView();
  for (let i = 0; i < 20 && closed === null; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(closed, CloseCode.RunEnded, 'closed as ended');
  assert.ok(sent.includes('out:via-cli\n'), `the output was sent: ${JSON.stringify(sent)}`);
  assert.ok(sent.indexOf('out:via-cli\n') < sent.lastIndexOf('json:failed'), `output before the final status: ${JSON.stringify(sent)}`);
});
