/**
 * Opens the relay's database: embedded PGlite in `<dataDir>/db` by default, or PostgreSQL when
 * a DATABASE_URL is given. Both go through Prisma 7 driver adapters (no engine binary) and get
 * migrations applied before the client is returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { migrate, type SqlRunner } from './migrate.js';
import { acquireDataDirLock } from './data-dir-lock.js';
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
}

/**
 * The embedded database's buffer cache. PGlite's default (128MB) makes its WebAssembly memory grow
 * past its 128 MiB minimum; 32MB keeps it there (a restarted relay idles at about 320 MiB instead
 * of 420; the first start, which runs initdb, holds more until V8 collects it) and is plenty for
 * one site's relay. The files still sit in the OS page cache.
 */
export const DEFAULT_PGLITE_SHARED_BUFFERS = '32MB';

/**
 * One full garbage collection now, so the instance that ran initdb (hundreds of MiB of WebAssembly
 * memory) is given back at once instead of whenever V8 next decides to collect; left to V8, a
 * fresh relay sometimes held it for its whole run. `gc` is not exposed by default: the flag is
 * set at run time and the function taken from a new context.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openEmbedded(opts.dataDir, opts.sharedBuffers ?? DEFAULT_PGLITE_SHARED_BUFFERS);
}

async function openEmbedded(dataDir: string, sharedBuffers: string): Promise<Database> {
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) throw new Error(`shared buffers "${sharedBuffers}" is not a size such as 32MB`);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(dataDir);
  try {
    const dbDir = path.join(dataDir, 'db');
    // Loaded only for the embedded database: a relay on PostgreSQL never carries PGlite's code.
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
    const start = async () => {
      const db = new PGlite(dbDir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`] });
      await db.waitReady;
      return db;
    };
    const fresh = !fs.existsSync(path.join(dbDir, 'PG_VERSION'));
    let pglite = await start();
    if (fresh) {
      // initdb leaves its instance's WebAssembly memory and heap several hundred MiB larger than a
      // restarted one (measured: about 740 MiB against 400 for the whole relay, which then also
      // spends more CPU marking that heap). Start once more on the created files and let it go.
      await pglite.close();
      collectGarbage();
      pglite = await start();
    }
    const runner: SqlRunner = {
      exec: async (sql) => {
        await pglite.exec(sql);
      },
      query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
    };
    const applied = await migrate(runner);
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    return {
      prisma,
      kind: 'embedded',
      applied,
      close: async () => {
        await prisma.$disconnect().catch(() => {});
        await pglite.close().catch(() => {});
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled connection that the server closes (a restart, a failover, an administrator's
  // pg_terminate_backend) emits 'error' on the pool; unhandled, that would end the relay. The pool
  // drops the connection and opens a new one for the next query.
  pool.on('error', (err) => log.warn('a PostgreSQL connection was closed by the server; it will be replaced', { err: err.message }));
  const client = await pool.connect();
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
      kind: 'postgresql',
      applied,
      close: async () => {
        await prisma.$disconnect().catch(() => {});
        await pool.end().catch(() => {});
      },
    };
  } catch (err) {
    client.release();
    await pool.end().catch(() => {});
    throw err;
  }
}

