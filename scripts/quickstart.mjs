// `npm start`: installs and builds Rexec, then runs a relay with the embedded database plus an
// agent for this machine, and prints the URL and the first login. Ctrl-C stops both.
//
//   npm start                               relay on http://127.0.0.1:8420, data in ./.rexec-data
//   npm start -- --port 9000 --bind 0.0.0.0 --public-url http://myhost:9000
//   npm start -- --no-agent                 relay only
//   npm start -- --skip-install             reuse the current build
//
// Environment: REXEC_DATA_DIR (data directory), and every variable the relay and agent read.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkNode, installAndBuild, step } from './workspace.mjs';

const HELP = `Usage: npm start -- [options]

Installs dependencies, builds, and runs a Rexec relay (embedded database) plus a local agent.

Options:
  --port <port>        relay port (default 8420)
  --bind <address>     relay listen address (default 127.0.0.1; 0.0.0.0 to let other servers connect)
  --public-url <url>   URL people and agents use to reach the relay (default http://<bind>:<port>)
  --data-dir <dir>     relay and local agent data (default ./.rexec-data, env REXEC_DATA_DIR)
  --no-agent           do not start an agent for this machine
  --skip-install       do not install or build (use the existing build)
  -h, --help           show this help
`;

function parseArgs(argv) {
  const o = { port: '8420', bind: '127.0.0.1', publicUrl: undefined, dataDir: process.env.REXEC_DATA_DIR || path.join(ROOT, '.rexec-data'), agent: true, install: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--port') o.port = val();
    else if (a === '--bind') o.bind = val();
    else if (a === '--public-url') o.publicUrl = val();
    else if (a === '--data-dir') o.dataDir = path.resolve(val());
    else if (a === '--no-agent') o.agent = false;
    else if (a === '--skip-install') o.install = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(HELP);
      process.exit(0);
    } else fail(`unknown option ${a}\n\n${HELP}`);
  }
  return o;
}

function fail(msg) {
  process.stderr.write(`quickstart: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
checkNode();
if (opts.install) installAndBuild();

const relayBin = path.join(ROOT, 'relay/bin/rexec-relay.js');
const agentBin = path.join(ROOT, 'agent/bin/rexec-agent.js');
const agentConfig = path.join(opts.dataDir, 'local-agent', 'agent.json');
fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });

const children = [];
let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of [...children].reverse()) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

function prefixed(child, name) {
  const logFile = fs.createWriteStream(path.join(opts.dataDir, `${name}.log`), { flags: 'a', mode: 0o600 });
  for (const s of [child.stdout, child.stderr]) s.pipe(logFile);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`\n${name} exited (${code ?? signal}); see ${path.join(opts.dataDir, `${name}.log`)}\n`);
      shutdown(1);
    }
  });
}

step('Starting the relay');
const relayArgs = ['start', '--port', opts.port, '--bind', opts.bind, '--data-dir', opts.dataDir, ...(opts.publicUrl ? ['--public-url', opts.publicUrl] : [])];
// One malloc arena, as deploy/rexec-relay.service runs the relay (README, MALLOC_ARENA_MAX). Not for
// the agent: its environment reaches the shells and commands it starts.
const relay = spawn(process.execPath, [relayBin, ...relayArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { MALLOC_ARENA_MAX: '1', ...process.env } });
children.push(relay);
let relayOut = '';
relay.stdout.on('data', (d) => (relayOut += d));
relay.stderr.on('data', (d) => (relayOut += d));
prefixed(relay, 'relay');
const url = await new Promise((resolve) => {
  const t = setInterval(() => {
    const m = /Relay listening on (\S+)/.exec(relayOut);
    if (m) {
      clearInterval(t);
      resolve(m[1]);
    } else if (relay.exitCode !== null) {
      clearInterval(t);
      process.stderr.write(relayOut);
      shutdown(1);
    }
  }, 100);
});
console.log(`    relay is up at ${url}`);

if (opts.agent) {
  if (!fs.existsSync(agentConfig)) {
    step('Registering an agent for this machine');
    // A single-use enrollment token: it registers this one agent and is spent.
    const mk = spawnSync(process.execPath, [relayBin, 'enroll', '--host', url, '--expires-in-minutes', '5', '--data-dir', opts.dataDir, '--json'], { encoding: 'utf8' });
    if (mk.status !== 0) fail(`could not create an enrollment token: ${mk.stderr}`);
    const { token } = JSON.parse(mk.stdout);
    const name = (os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'local').slice(0, 64);
    const reg = spawnSync(process.execPath, [agentBin, 'register', '--host', url, '--token', token, '--name', name, '--tags', 'local', '--config', agentConfig], { encoding: 'utf8' });
    if (reg.status !== 0) fail(`could not register the local agent: ${reg.stderr || reg.stdout}`);
    console.log(`    registered agent "${name}" (config ${agentConfig})`);
  }
  step('Starting the local agent');
  const agent = spawn(process.execPath, [agentBin, 'start', '--config', agentConfig], { cwd: os.homedir(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REXEC_HOST: url } });
  children.push(agent);
  prefixed(agent, 'agent');
}

const pwFile = path.join(opts.dataDir, 'initial-admin-password');
const login = fs.existsSync(pwFile)
  ? `username admin, one-time password ${fs.readFileSync(pwFile, 'utf8').trim()}\n    (you will choose a new password at first login; the file ${pwFile} is removed then)`
  : 'username admin with the password you chose (forgot it? stop, delete the data dir, start again)';
console.log(`
  Rexec is running.

    Open      ${url}
    Log in    ${login}
    Logs      ${path.join(opts.dataDir, 'relay.log')}, ${path.join(opts.dataDir, 'agent.log')}

    CLI       node relay/bin/rexec-relay.js token create --name me --data-dir ${opts.dataDir}
              node relay/bin/rexec.js login --host ${url} --token <that token>
              node relay/bin/rexec.js exec --agent <name> -- uname -a

  Press Ctrl-C to stop.
`);
