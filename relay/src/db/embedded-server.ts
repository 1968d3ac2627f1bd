/**
 * The embedded database's own process: PGlite on `<dataDir>/db`, served over PostgreSQL's wire
 * protocol on a unix socket that only the relay's user can open. The relay starts it
 * (./embedded-process.ts) and talks to it with the same `pg` driver and Prisma adapter it uses for
 * a real PostgreSQL.
 *
 * Why a process of its own: PGlite is a WebAssembly PostgreSQL of at least 128 MiB of linear
 * memory. Inside the relay, V8 counted that memory against the relay's heap and ran a full
 * collection every few MiB of terminal output (about half the relay's CPU during a flood, and
 * its throughput with it), and the relay's RSS was about 390 MiB instead of about 200.
 *
 * PGlite is one backend, so the server serves one connection at a time: a connection owns the
 * backend until it closes (a transaction left open is rolled back), and a second one waits. The
 * relay's pool holds a single connection.
 *
 * Lifecycle: started with an IPC channel; it answers `{ type: 'ready' }` or `{ type: 'error' }`
 * (or `{ type: 'created' }` after creating a new database, and exits: see below), and it closes
 * PGlite and exits when that channel closes (the relay closed it, exited or was
 * killed). SIGINT and SIGTERM (sent to the whole group by a terminal or a service manager) give
 * the relay a moment to finish its queries first. `<dataDir>/db.lock` (its pid) keeps a second
 * server off the same files: a new one waits for an old one that is still closing.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PGlite as PGliteType } from '@electric-sql/pglite';
import { acquireDataDirLock, DataDirBusyError } from './data-dir-lock.js';
import { PgMessageReader, PG_GSSENC_REQUEST, PG_SSL_REQUEST, PG_TERMINATE } from './pg-wire.js';

export interface EmbeddedServerArgs {
  dataDir: string;
  sharedBuffers: string;
  socketPath: string;
}

/** How long a new server waits for an old one to let go of the data directory. */
const LOCK_WAIT_MS = 20_000;
/** After SIGTERM/SIGINT, how long to wait for the relay to close the channel first. */
const SIGNAL_GRACE_MS = 5_000;

/** What the process tells the relay: `created` means it ran initdb and exits; start it again. */
export type EmbeddedServerMessage = { type: 'ready' } | { type: 'created' } | { type: 'error'; message: string };

/** Resolves once the message is handed to the channel (before an exit that follows it). */
function send(msg: EmbeddedServerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function lockDataDir(dataDir: string): Promise<() => void> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      return acquireDataDirLock(dataDir, 'db.lock');
    } catch (err) {
      if (!(err instanceof DataDirBusyError) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function openPGlite(dbDir: string, sharedBuffers: string): Promise<PGliteType> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dbDir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`] });
  await db.waitReady;
  return db;
}

/** One client connection: its messages go to PGlite in order, the answers straight back. */
async function serveConnection(db: PGliteType, socket: net.Socket, done: Promise<void>): Promise<void> {
  if (socket.destroyed) return; // it closed while waiting for its turn
  const reader = new PgMessageReader();
  let chain = Promise.resolve();
  let closed = false;
  socket.setNoDelay(true);
  socket.on('data', (data: Buffer) => {
    let msgs: Buffer[];
    try {
      msgs = reader.push(data);
    } catch {
      socket.destroy(); // not the PostgreSQL protocol
      return;
    }
    for (const msg of msgs) {
      chain = chain.then(async () => {
        if (closed) return;
        if (PgMessageReader.isStartupCode(msg, PG_SSL_REQUEST) || PgMessageReader.isStartupCode(msg, PG_GSSENC_REQUEST)) {
          socket.write('N'); // no TLS or GSSAPI encryption on a unix socket: the client goes on in the clear
          return;
        }
        if (msg[0] === PG_TERMINATE && msg.length === 5) {
          closed = true;
          socket.end();
          return;
        }
        await db.execProtocolRawStream(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), {
          onRawData: (out) => {
            // `out` is a view of PGlite's memory, reused by the next call: copy it out.
            if (!socket.destroyed) socket.write(Buffer.from(out));
          },
        });
      }).catch(() => {
        closed = true; // PGlite failed outside the protocol's own error replies: drop the client
        socket.destroy();
      });
    }
  });
  await done;
  closed = true;
  await chain; // each step catches its own failure

  // The next connection gets a backend outside any transaction and with no session state.
  if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => {});
  await db.exec('DISCARD ALL').catch(() => {});
}

export async function runEmbeddedServer(args: EmbeddedServerArgs): Promise<void> {
  let release: (() => void) | null = null;
  let db: PGliteType | null = null;
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  let stopping: Promise<void> | null = null;
  const stop = (code: number) =>
    (stopping ??= (async () => {
      server?.close();
      for (const s of sockets) s.destroy();
      await db?.close().catch(() => {});
      fs.rmSync(args.socketPath, { force: true });
      release?.();
      process.exit(code);
    })());
  process.on('disconnect', () => void stop(0));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => setTimeout(() => void stop(0), SIGNAL_GRACE_MS).unref());
  try {
    release = await lockDataDir(args.dataDir);
    const dbDir = path.join(args.dataDir, 'db');
    const fresh = !fs.existsSync(path.join(dbDir, 'PG_VERSION'));
    db = await openPGlite(dbDir, args.sharedBuffers);
    if (fresh) {
      // initdb leaves the process several hundred MiB larger than a start on existing files
      // (measured: about 725 MiB against 165), and V8 gives that memory back late or never. The
      // relay starts a new process on the created files instead.
      await db.close();
      db = null;
      await send({ type: 'created' });
      await stop(0);
      return;
    }
    fs.rmSync(args.socketPath, { force: true }); // a socket left by a killed server
    const backend = db;
    let queue = Promise.resolve();
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.pause(); // until it owns the backend
      const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      void done.then(() => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      queue = queue.then(() => {
        socket.resume();
        return serveConnection(backend, socket, done);
      });
    });
    const old = process.umask(0o077); // the socket: owner only
    try {
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(args.socketPath, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    await send({ type: 'ready' });
  } catch (err) {
    await send({ type: 'error', message: (err as Error).message });
    await stop(1);
  }
}
