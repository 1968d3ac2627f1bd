/**
 * Opens the relay's database: embedded PGlite in `<dataDir>/db` by default, or PostgreSQL when
 * a DATABASE_URL is given. Both go through Prisma 7 driver adapters (no engine binary) and get
 * migrations applied before the client is returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { migrate, type SqlRunner } from './migrate.js';
import { acquireDataDirLock } from './data-dir-lock.js';

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
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openEmbedded(opts.dataDir);
}

async function openEmbedded(dataDir: string): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(dataDir);
  try {
    const dbDir = path.join(dataDir, 'db');
    const pglite = new PGlite(dbDir);
    await pglite.waitReady;
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
