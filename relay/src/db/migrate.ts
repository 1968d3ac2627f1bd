/**
 * Applies the SQL migrations in prisma/migrations/NNNN_name/migration.sql in order, each in
 * its own transaction, recording them in `_rexec_migrations`. Runs at relay start. A
 * PostgreSQL advisory lock serialises relays that start at once against one database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SqlRunner {
  /** Runs one or more statements (no parameters). */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../prisma/migrations');
const MIGRATION_LOCK_KEY = 7_231_990_001;

export interface Migration {
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{4}_[a-z0-9_]+$/.test(d.name))
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, sql: fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') }));
}

/** Returns the names of the migrations it applied. */
export async function migrate(db: SqlRunner, migrations = loadMigrations()): Promise<string[]> {
  await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await db.exec(
      'CREATE TABLE IF NOT EXISTS "_rexec_migrations" ("name" TEXT PRIMARY KEY, "applied_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)',
    );
    const done = new Set((await db.query<{ name: string }>('SELECT "name" FROM "_rexec_migrations"')).map((r) => r.name));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      try {
        await db.exec(`BEGIN;\n${m.sql}\n;INSERT INTO "_rexec_migrations" ("name") VALUES ('${m.name}');\nCOMMIT;`);
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => {});
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.name);
    }
    return applied;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
