/**
 * Opens the relay's database: embedded PGlite in `<dataDir>/db` by default, or PostgreSQL when
 * a DATABASE_URL is given. PGlite runs in a process of its own that speaks PostgreSQL's protocol
 * on a unix socket (./embedded-server.ts), so both are reached the same way: `pg`, Prisma 7's pg
 * driver adapter (no engine binary), and migrations applied before the client is returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { migrate, type SqlRunner } from './migrate.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { EMBEDDED_SOCKET_PORT, startEmbeddedProcess } from './embedded-process.js';
import { log } from '../log.js';

export type { PrismaClient };
export type DatabaseKind = 'embedded' | 'postgresql';

export interface Database {
  prisma: PrismaClient;
  kind: DatabaseKind;
  /** Migrations applied by this open. */
  applied: string[];
  close(): Promise<void>;
}

export interface OpenOptions {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL's shared_buffers for the embedded database (REXEC_PGLITE_SHARED_BUFFERS). */
  sharedBuffers?: string;
  /** The embedded database's process ended while in use (default: logged). */
  onLost?: (reason: string) => void;
}

/**
 * The embedded database's buffer cache. PGlite's default (128MB) makes its WebAssembly memory grow
 * past its 128 MiB minimum; 32MB keeps it there (about 100 MiB less for the database's process)
 * and is plenty for one site's relay. The files still sit in the OS page cache.
 */
export const DEFAULT_PGLITE_SHARED_BUFFERS = '32MB';

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openEmbedded(opts);
}

async function openEmbedded(opts: OpenOptions): Promise<Database> {
  const sharedBuffers = opts.sharedBuffers ?? DEFAULT_PGLITE_SHARED_BUFFERS;
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) throw new Error(`shared buffers "${sharedBuffers}" is not a size such as 32MB`);
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(opts.dataDir);
  try {
    const server = await startEmbeddedProcess({
      dataDir: opts.dataDir,
      sharedBuffers,
      onLost: opts.onLost ?? ((reason) => log.error(reason)),
    });
    // One connection: PGlite is a single backend (the server serves one connection at a time).
    // Idle, it stays open for the relay's lifetime.
    const pool = new pg.Pool({ host: server.socketDir, port: EMBEDDED_SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1, idleTimeoutMillis: 0 });
    return await openPool(pool, 'embedded', async () => {
      await server.stop();
      release();
    }).catch(async (err: unknown) => {
      await server.stop();
      throw err;
    });
  } catch (err) {
    release();
    throw err;
  }
}

async function openPostgres(url: string): Promise<Database> {
  return openPool(new pg.Pool({ connectionString: url, max: 10 }), 'postgresql');
}

/** Migrates through one of the pool's connections, then hands the pool to Prisma. */
async function openPool(pool: pg.Pool, kind: DatabaseKind, after?: () => Promise<void>): Promise<Database> {
  // An idle pooled connection that the server closes (a restart, a failover, an administrator's
  // pg_terminate_backend, the embedded database's process going away) emits 'error' on the pool;
  // unhandled, that would end the relay. The pool drops the connection and opens a new one for
  // the next query.
  pool.on('error', (err) => log.warn('a database connection was closed by the server; it will be replaced', { database: kind, err: err.message }));
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  try {
    const runner: SqlRunner = {
      exec: async (sql) => {
        await client.query(sql);
      },
      query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    };
    const applied = await migrate(runner);
    client.release();
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return {
      prisma,
      kind,
      applied,
      close: async () => {
        await prisma.$disconnect().catch(() => {});
        await pool.end().catch(() => {});
        await after?.();
      },
    };
  } catch (err) {
    client.release();
    await pool.end().catch(() => {});
    throw err;
  }
}

