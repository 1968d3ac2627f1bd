// Builds the relay's one native addon, native/malloc-trim.c (see there and
// src/memory/malloc-trim.ts), with node-gyp, the tool that builds node-pty for the agent.
//
// The addon is optional: without a C compiler, or on a libc other than glibc, the relay runs
// without it and keeps the memory glibc does not give back by itself (about 15 MiB; the relay says
// so when it starts). A failed build is therefore a warning, unless REXEC_REQUIRE_NATIVE=1 (the
// test suite sets it, so that CI notices a broken build). Nothing is rebuilt while the built file
// is newer than its sources.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const relayDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(relayDir, 'native');
const built = path.join(nativeDir, 'build', 'Release', 'malloc_trim.node');
const sources = ['malloc-trim.c', 'binding.gyp'].map((f) => path.join(nativeDir, f));
const required = process.env.REXEC_REQUIRE_NATIVE === '1';

const mtime = (f) => statSync(f).mtimeMs;
if (existsSync(built) && sources.every((s) => mtime(s) <= mtime(built))) process.exit(0);

/** node-gyp as pnpm and npm put it on PATH for package scripts, else the copy bundled with npm. */
function nodeGyp() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'node-gyp');
    if (dir && existsSync(candidate)) return { cmd: candidate, args: [] };
  }
  const bundled = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return existsSync(bundled) ? { cmd: process.execPath, args: [bundled] } : null;
}

function giveUp(reason) {
  const message = `build-native: the malloc-trim addon was not built (${reason}); the relay runs without it and keeps about 15 MiB more memory`;
  if (required) {
    console.error(`${message}. REXEC_REQUIRE_NATIVE=1: failing.`);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

/**
 * Node's headers: an install of node that ships them (official tarballs, distribution packages
 * with headers) has them under its prefix, so node-gyp need not download them.
 */
function nodeDirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
}

const gyp = nodeGyp();
if (!gyp) giveUp('node-gyp not found');
const r = spawnSync(gyp.cmd, [...gyp.args, 'rebuild', '--directory', nativeDir, ...nodeDirArgs()], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.error) giveUp(r.error.message);
if (r.status !== 0 || !existsSync(built)) {
  process.stderr.write(r.stdout + r.stderr);
  giveUp(`node-gyp exited with ${r.status}`);
}
console.log(`build-native: ${path.relative(relayDir, built)}`);
