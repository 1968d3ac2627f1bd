// Helpers shared by scripts/quickstart.mjs and scripts/test.mjs: pnpm through npx (pinned in
// package.json's packageManager field), install, build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).packageManager; // "pnpm@X.Y.Z"

export function step(title) {
  process.stdout.write(`\n==> ${title}\n`);
}

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    process.stderr.write(`\nfailed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
  return r;
}

export function pnpm(args, opts) {
  return sh('npx', ['--yes', PNPM, ...args], opts);
}

export function checkNode() {
  const [maj, min] = process.versions.node.split('.').map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    process.stderr.write(`Rexec needs Node.js 20.19 or newer; this is ${process.versions.node}.\n`);
    process.exit(1);
  }
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * node-pty ships no Linux binaries, so its install compiles it with node-gyp: that needs
 * python3, make and a C++ compiler. On Debian as root, install them; otherwise say what to do.
 */
export function ensureBuildTools() {
  const missing = [['python3', 'python3'], ['make', 'make'], ['g++', 'g++']].filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (!missing.length) return;
  if (process.getuid?.() === 0 && have('apt-get')) {
    step(`Installing build tools for node-pty: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    sh('apt-get', ['update', '-qq'], { env });
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } else {
    process.stderr.write(`Building node-pty needs: ${missing.join(' ')}. Install them (sudo apt-get install -y ${missing.join(' ')}) and run again.\n`);
    process.exit(1);
  }
}

export function installAndBuild() {
  checkNode();
  ensureBuildTools();
  step(`Installing dependencies (${PNPM})`);
  pnpm(['install', '--prefer-frozen-lockfile', '--reporter=append-only'], { env: { ...process.env, CI: 'true' } });
  step('Building shared, agent, relay and web');
  pnpm(['-r', 'run', 'build']);
}
