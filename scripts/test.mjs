// `npm test`: installs everything the tests need, builds, and runs every test in one
// node --test run: protocol and unit tests, the end-to-end suite against real relay and agent
// processes (embedded database, then PostgreSQL), and the browser test in headless Chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, installAndBuild, sh, step } from './workspace.mjs';

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pgReady() {
  return spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432'], { stdio: 'ignore' }).status === 0;
}

/** System packages: Debian's Chromium for the browser test, PostgreSQL for the scaled setup. */
function ensureSystemDeps() {
  const missing = [];
  if (!fs.existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!have('pg_ctlcluster') && !have('postgres') && !pgReady()) missing.push('postgresql');
  if (!have('pgrep') || !have('top')) missing.push('procps');
  if (!have('vim')) missing.push('vim'); // the browser test edits a file in vim
  if (missing.length) {
    if (process.getuid?.() === 0 && have('apt-get')) {
      step(`Installing system packages: ${missing.join(' ')}`);
      sh('apt-get', ['update', '-qq']);
      sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } else {
      process.stderr.write(`The tests need these Debian packages: ${missing.join(' ')}.\nInstall them (sudo apt-get install -y ${missing.join(' ')}) or run npm test as root.\n`);
      process.exit(1);
    }
  }
  if (process.env.REXEC_TEST_PG_URL) return;
  if (!pgReady() && have('pg_ctlcluster')) {
    step('Starting PostgreSQL');
    const versions = fs.readdirSync('/etc/postgresql');
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0], 'main', 'start'], { stdio: 'inherit' });
    // Trust auth on loopback for the test user, as on the CI machine.
    for (let i = 0; i < 30 && !pgReady(); i++) spawnSync('sleep', ['1']);
  }
  if (!pgReady()) {
    process.stderr.write('PostgreSQL is not reachable on 127.0.0.1:5432; set REXEC_TEST_PG_URL to point the tests elsewhere.\n');
    process.exit(1);
  }
  process.env.REXEC_TEST_PG_URL ??= pgTestUrl();
}

/** The CI machine trusts loopback; a fresh Debian install wants a password, which we set. */
function pgTestUrl() {
  const trust = 'postgres://postgres@127.0.0.1:5432/postgres';
  const works = (url) => spawnSync('psql', [url, '-qAtc', 'select 1'], { stdio: 'ignore' }).status === 0;
  if (works(trust)) return trust;
  const withPassword = 'postgres://postgres:rexec-test@127.0.0.1:5432/postgres';
  if (works(withPassword)) return withPassword;
  if (process.getuid?.() === 0) {
    spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '-qc', "ALTER ROLE postgres PASSWORD 'rexec-test'"], { stdio: 'inherit' });
    if (works(withPassword)) return withPassword;
  }
  process.stderr.write(`Cannot log in to PostgreSQL on 127.0.0.1 as postgres; set REXEC_TEST_PG_URL.\n`);
  process.exit(1);
}

ensureSystemDeps();
// The relay's malloc-trim addon is optional for users, not here: a broken build fails the run.
process.env.REXEC_REQUIRE_NATIVE ??= '1';
installAndBuild();

const files = [
  ...fs.readdirSync(path.join(ROOT, 'shared/test')).map((f) => `shared/test/${f}`),
  ...fs.readdirSync(path.join(ROOT, 'agent/test')).map((f) => `agent/test/${f}`),
  ...fs.readdirSync(path.join(ROOT, 'relay/test')).map((f) => `relay/test/${f}`),
  ...fs.readdirSync(path.join(ROOT, 'web/test')).map((f) => `web/test/${f}`),
].filter((f) => f.endsWith('.test.ts') && (process.argv.length <= 2 || process.argv.slice(2).some((a) => f.includes(a))));

step('Type-checking the tests (they run from source through tsx, which does not type-check)');
for (const pkg of ['shared', 'agent', 'relay', 'web']) sh('npx', ['tsc', '-p', `${pkg}/test/tsconfig.json`]);

step(`Running ${files.length} test files`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
