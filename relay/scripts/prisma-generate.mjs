// Runs `prisma generate` offline. The Prisma 7 client needs no engine at run time (driver
// adapters), but the CLI insists on locating a schema engine binary, which it would otherwise
// try to download. Generation never executes it, so any existing file satisfies the check.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const relayDir = path.resolve(here, '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const prismaBin = path.join(relayDir, 'node_modules', '.bin', 'prisma');
const r = spawnSync(prismaBin, ['generate', '--schema', 'prisma/schema.prisma'], { cwd: relayDir, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
