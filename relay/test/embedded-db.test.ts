/**
 * The embedded database's process: message framing, one connection at a time with a rollback of
 * what a closed connection left open, a private socket, and its life tied to the relay's (a
 * SIGKILLed relay does not leave it behind; a relay whose database dies stops with an error and
 * starts again on the same files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PgMessageReader, PG_GSSENC_REQUEST, PG_PROTOCOL_3, PG_SSL_REQUEST } from '../src/db/pg-wire.js';
import { EMBEDDED_SOCKET_PORT, startEmbeddedProcess } from '../src/db/embedded-process.js';
import { pidAlive } from '../src/db/data-dir-lock.js';
import { descendantsNamed } from './proc-stats.js';
import { startRelay, tempDir, waitUntil } from './harness.js';

function startup(code: number, body = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(code, 4);
  body.copy(b, 8);
  return b;
}
function typed(type: string, body: string): Buffer {
  const payload = Buffer.from(body);
  const b = Buffer.alloc(5 + payload.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + payload.length, 1);
  payload.copy(b, 5);
  return b;
}
test('pg-wire: whole messages out of any split, startup then typed, malformed lengths refused', () => {
  const stream = Buffer.concat([startup(PG_SSL_REQUEST), startup(PG_PROTOCOL_3, Buffer.from('user\0postgres\0\0')), typed('Q', 'SELECT 1\0'), typed('X', '')]);
  for (const size of [1, 3, 7, stream.length]) {
    const r = new PgMessageReader();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...r.push(stream.subarray(i, i + size)));
    assert.deepEqual(
      out.map((m) => m.toString('latin1')),
      [startup(PG_SSL_REQUEST), startup(PG_PROTOCOL_3, Buffer.from('user\0postgres\0\0')), typed('Q', 'SELECT 1\0'), typed('X', '')].map((m) => m.toString('latin1')),
      `chunks of ${size} bytes`,
    );
    assert.ok(PgMessageReader.isStartupCode(out[0]!, PG_SSL_REQUEST), 'the SSL request is recognised');
  }
  assert.throws(() => new PgMessageReader().push(startup(PG_PROTOCOL_3).fill(0, 0, 4)), /malformed message length 0/);
  const r = new PgMessageReader();
  r.push(startup(PG_PROTOCOL_3));
  const bad = typed('Q', '');
  bad.writeInt32BE(-1, 1);
  assert.throws(() => r.push(bad), /malformed message length/);
});

test('embedded process: one connection owns the backend; what it leaves open is rolled back; encryption requests are declined; the socket is private; files survive a restart', async () => {
  const dataDir = tempDir('embedded-proc');
  fs.mkdirSync(dataDir, { recursive: true });
  let server = await startEmbeddedProcess({ dataDir, sharedBuffers: '32MB' });
  const client = () => new pg.Client({ host: server.socketDir, port: EMBEDDED_SOCKET_PORT, user: 'postgres', database: 'postgres' });
  try {
    assert.equal(fs.statSync(server.socketDir).mode & 0o777, 0o700, 'only the owner can reach the socket');
    const a = client();
    await a.connect();
    await a.query('CREATE TABLE t (x int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO t VALUES (1)');
    // A client that gives up while waiting for its turn must not hold up the ones after it.
    const quitter = net.connect(path.join(server.socketDir, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`));
    await new Promise((r) => quitter.once('connect', r));
    quitter.destroy();
    const b = client();
    let bReady = false;
    const bConnected = b.connect().then(() => (bReady = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bReady, false, 'a second connection waits while the first owns the backend');
    await a.end(); // closes with the transaction open
    await bConnected;
    assert.equal((await b.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 0, "the closed connection's open transaction was rolled back");
    await b.query('INSERT INTO t VALUES (2)');
    await b.end();
    // Encryption requests get "N" (not on a unix socket), then the startup goes on in the clear.
    const raw = net.connect(path.join(server.socketDir, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`));
    const got: Buffer[] = [];
    raw.on('data', (d: Buffer) => got.push(d));
    raw.write(Buffer.concat([startup(PG_SSL_REQUEST), startup(PG_GSSENC_REQUEST), startup(PG_PROTOCOL_3, Buffer.from('user\0postgres\0database\0postgres\0\0'))]));
    await waitUntil('the startup answer', () => Buffer.concat(got).includes(Buffer.from('Z')), 5000, 20);
    const answer = Buffer.concat(got);
    assert.equal(answer.subarray(0, 2).toString('latin1'), 'NN', 'both encryption requests are declined');
    assert.equal(answer[2], 0x52, 'then authentication (R) for the startup');
    raw.destroy();
    const pid = server.pid;
    await server.stop();
    assert.equal(pidAlive(pid), false, 'stop waits for the process to end');
    server = await startEmbeddedProcess({ dataDir, sharedBuffers: '32MB' });
    const c = client();
    await c.connect();
    assert.deepEqual((await c.query('SELECT x FROM t')).rows, [{ x: 2 }], 'committed rows are there after a restart');
    await c.end();
  } finally {
    await server.stop();
  }
});

test('embedded process: a data directory too deep for a unix socket path gets a private socket directory under the temp directory, removed at stop', async () => {
  const dataDir = path.join(tempDir('embedded-deep'), 'x'.repeat(60), 'y'.repeat(60));
  fs.mkdirSync(dataDir, { recursive: true });
  const server = await startEmbeddedProcess({ dataDir, sharedBuffers: '32MB' });
  try {
    assert.ok(server.socketDir.startsWith(os.tmpdir()), `socket directory ${server.socketDir} is under the temp directory`);
    assert.equal(fs.statSync(server.socketDir).mode & 0o777, 0o700, 'and private');
    const c = new pg.Client({ host: server.socketDir, port: EMBEDDED_SOCKET_PORT, user: 'postgres', database: 'postgres' });
    await c.connect();
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1, 'the database answers there');
    await c.end();
  } finally {
    await server.stop();
  }
  assert.equal(fs.existsSync(server.socketDir), false, 'the temporary socket directory is gone after stop');
});

test('embedded relay: its database process ends with a SIGKILLed relay; a relay whose database dies stops with an error and starts again on the same data', { skip: process.env.REXEC_TEST_DATABASE === 'postgres' && 'the embedded database only' }, async () => {
  const relay = await startRelay({ database: 'embedded' });
  try {
    const [db] = descendantsNamed(relay.proc.pid!, 'rexec-relay-db');
    assert.ok(db, 'the relay runs its database in a child process');
    await relay.kill();
    await waitUntil('the database process to end after its relay was killed', () => !pidAlive(db), 15_000, 50);
    assert.ok(!fs.existsSync(`${relay.dataDir}/db.lock`), 'it released its lock on the way out');

    await relay.restart();
    assert.equal((await relay.api('GET', '/api/agents')).status, 200, 'the restarted relay serves with the same token and data');
    const [db2] = descendantsNamed(relay.proc.pid!, 'rexec-relay-db');
    assert.ok(db2, 'the restarted relay has a database process');
    const exit = new Promise<number | null>((r) => relay.proc.once('exit', (code) => r(code)));
    process.kill(db2, 'SIGKILL');
    assert.equal(await exit, 1, 'the relay stops with an error without its database');
    assert.match(relay.output.text, /embedded database's process \(pid \d+\) exited unexpectedly \(SIGKILL\); the relay stops/);

    await relay.restart();
    assert.equal((await relay.api('GET', '/api/agents')).status, 200, 'and starts again on the same files');
  } finally {
    await relay.stop();
  }
});
