/**
 * The run engine, in-process on the embedded database: output that a flush has taken from the
 * pending list but whose transaction has not committed yet is still handed to a new follower.
 * On PostgreSQL the follower's read of the stored chunks runs on another connection and can come
 * before that commit; the chunks fell between the two and `rexec run --follow` printed nothing
 * (the CI failure of runs-postgres). The commit is held open here with a gated $transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameKind, type Frame } from '@rexec/shared';
import { openDatabase } from '../src/db/open.js';
import { AgentHub } from '../src/hub/agent-hub.js';
import type { AgentLink } from '../src/hub/agent-link.js';
import { RunEngine, RUN_ENGINE_DEFAULTS } from '../src/runs/run-engine.js';
import { SecretBox } from '../src/auth/secret-box.js';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { tempDir } from './harness.js';

test('chunks being stored are still pending for a follower that starts meanwhile', async (t) => {
  const db = await openDatabase({ dataDir: tempDir('engine-store') });
  t.after(() => db.close());
  const agent = await db.prisma.agent.create({ data: { name: 'a1', credentialHash: 'x' } });
  await db.prisma.run.create({
    data: { id: 'r1', agentId: agent.id, agentName: 'a1', promptContent: 'hi', workingDirectory: '/srv', command: 'echo hi', timeoutMinutes: 1, requestedBy: 'test', status: 'running', startedAt: new Date() },
  });
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  let storing = false;
  // The real client, with $transaction held until the gate opens.
  const prisma = new Proxy(db.prisma, {
    get(target, prop, receiver) {
      if (prop === '$transaction') {
        return async (...args: unknown[]) => {
          storing = true;
          await gate;
          return (target.$transaction as (...a: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  }) as PrismaClient;
  const hub = new AgentHub(db.prisma, { heartbeatIntervalMs: 1000, deadLinkTimeoutMs: 5000, helloTimeoutMs: 5000 });
  const engine = new RunEngine(prisma, hub, new SecretBox(randomBytes(32)), { ...RUN_ENGINE_DEFAULTS, flushIntervalMs: 1 });
  t.after(() => engine.stop());
  await engine.start(); // picks up the running run

  const link = { agentId: agent.id, agentName: 'a1' } as unknown as AgentLink;
  const frame: Frame = { kind: FrameKind.RunStdout, id: 'r1', offset: 0, payload: Buffer.from('via-cli\n') };
  engine.onRunOutput(link, frame);
  for (let i = 0; i < 100 && !storing; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(storing, 'the flush has started its transaction');

  const follower = engine.watch('r1', { output: () => {}, update: () => {} });
  assert.deepEqual(
    follower.pending.map((c) => Buffer.from(c.data).toString()),
    ['via-cli\n'],
    'the chunk being stored is handed to the follower',
  );
  follower.unwatch();
  openGate();
  await new Promise((r) => setTimeout(r, 50));
  const stored = await db.prisma.runOutputChunk.findMany({ where: { runId: 'r1' } });
  assert.equal(stored.length, 1, 'and it is stored');
  assert.deepEqual(engine.watch('r1', { output: () => {}, update: () => {} }).pending, [], 'once stored it is no longer pending');
});
