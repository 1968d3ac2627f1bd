/**
 * Test harness: real relay and agent processes on 127.0.0.1, each in its own temp directory,
 * plus clients that speak the real protocols and fold what they receive into plain state.
 *
 *   const relay = await startRelay();               // embedded DB (or REXEC_TEST_DATABASE=postgres)
 *   const agent = await startAgent(relay, { name: 'a1' });
 *   const term = await TerminalClient.open(relay, 'a1');
 *   term.input('echo hi\r'); await term.waitFor(/hi/);
 *
 * Every process started here is killed when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import {
  BROWSER_AUTH_SUBPROTOCOL_PREFIX,
  BROWSER_SUBPROTOCOL,
  PROTOCOL_VERSION,
  SESSION_DEFAULTS,
  SHARE_AUTH_SUBPROTOCOL_PREFIX,
  decodeFrame,
  takeNewBytes,
  relayToClientSchema,
  type AgentView,
  type ClientToRelay,
  type RelayToClient,
} from '@rexec/shared';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RELAY_BIN = path.join(REPO_ROOT, 'relay/bin/rexec-relay.js');
export const AGENT_BIN = path.join(REPO_ROOT, 'agent/bin/rexec-agent.js');
export const CLI_BIN = path.join(REPO_ROOT, 'relay/bin/rexec.js');

const live = new Set<ChildProcess>();
/** State dirs of session hosts of the agents started here (they outlive their agents by design). */
const sessionDirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const dir of sessionDirs) killSessionHosts(dir);
});

/** The state dir of an agent's session hosts (agent/src/paths.ts). */
export function sessionStateDir(configPath: string): string {
  return path.join(path.dirname(configPath), `${path.basename(configPath, path.extname(configPath))}.sessions`);
}

/** The session host state files of an agent. */
export function sessionHostStates(configPath: string): { sessionId: string; hostPid: number; pid: number; socket: string }[] {
  const dir = sessionStateDir(configPath);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .flatMap((n) => {
      try {
        return [JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8'))];
      } catch {
        return [];
      }
    });
}

/**
 * SIGKILLs the session hosts of a state dir and their shells' process groups (the shell leads its
 * terminal's group, so a pipeline it runs goes too).
 */
export function killSessionHosts(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const n of fs.readdirSync(dir)) {
    if (!n.endsWith('.json')) continue;
    let st: { hostPid?: number; pid?: number };
    try {
      st = JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as typeof st;
    } catch {
      continue;
    }
    for (const target of [typeof st.pid === 'number' && st.pid > 1 ? -st.pid : 0, typeof st.hostPid === 'number' && st.hostPid > 1 ? st.hostPid : 0]) {
      if (!target) continue;
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** Test-friendly link timing: fast heartbeats and backoff so failures show in seconds. */
export const FAST_LINK_ENV = {
  REXEC_HEARTBEAT_MS: '1000',
  REXEC_DEAD_LINK_MS: '5000',
  REXEC_AGENT_RECONNECT_BASE_MS: '200',
  REXEC_AGENT_RECONNECT_CAP_MS: '1000',
};

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rexec-${prefix}-`));
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
}

/** Output of a child process, kept for assertions and for failure messages. */
export class ProcOutput {
  text = '';
  constructor(proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
  }
  tail(n = 40): string {
    return this.text.split('\n').slice(-n).join('\n');
  }
}

export function runSync(bin: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status, signal) => {
      live.delete(p);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// ---- databases ---------------------------------------------------------------------------

export const PG_ADMIN_URL = process.env.REXEC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDatabaseKind(): 'embedded' | 'postgres' {
  return process.env.REXEC_TEST_DATABASE === 'postgres' ? 'postgres' : 'embedded';
}

/** A fresh PostgreSQL database; drop() removes it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rexec_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

// ---- relay -------------------------------------------------------------------------------

export interface RelayProc {
  url: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  /** The one-time admin password from the first start. */
  admin: { username: string; password: string };
  /** An admin API token created with `rexec-relay token create`. */
  apiToken: string;
  proc: ChildProcess;
  output: ProcOutput;
  /** SIGTERM and wait; removes temp data unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** SIGKILL, no cleanup of data. */
  kill(): Promise<void>;
  /** Start again on the same port and data (after kill or stop({ keepData: true })). */
  restart(): Promise<void>;
  api<T = unknown>(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
}

export interface StartRelayOptions {
  env?: Record<string, string>;
  /** 'postgres' creates a fresh database; default from REXEC_TEST_DATABASE. */
  database?: 'embedded' | 'postgres';
  /** Another relay on the PostgreSQL database of this one (own data dir; same admin and API token; the database stays until the first relay stops). */
  join?: RelayProc;
}

async function spawnRelay(dataDir: string, port: number, env: Record<string, string>): Promise<{ proc: ChildProcess; output: ProcOutput; url: string }> {
  const proc = spawn(process.execPath, [RELAY_BIN, 'start', '--port', String(port), '--data-dir', dataDir], {
    // MALLOC_ARENA_MAX as deploy/rexec-relay.service and `npm start` run the relay.
    env: { MALLOC_ARENA_MAX: '1', ...process.env, ...FAST_LINK_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  const output = new ProcOutput(proc);
  const url = await waitUntil(
    'the relay to listen',
    () => {
      if (proc.exitCode !== null) throw new Error(`relay exited with ${proc.exitCode}:\n${output.tail()}`);
      return /Relay listening on (\S+)/.exec(output.text)?.[1];
    },
    60_000,
    50,
  ).catch((err) => {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output.tail()}`);
  });
  return { proc, output, url };
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', () => r()));
}

export async function startRelay(opts: StartRelayOptions = {}): Promise<RelayProc> {
  const dataDir = tempDir('relay');
  const kind = opts.database ?? testDatabaseKind();
  if (opts.join && !opts.join.databaseUrl) throw new Error('join needs a relay on PostgreSQL');
  const pgdb = kind === 'postgres' && !opts.join ? await createPgDatabase() : null;
  const databaseUrl = opts.join?.databaseUrl ?? pgdb?.url;
  const env: Record<string, string> = { ...(opts.env ?? {}), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
  let { proc, output, url } = await spawnRelay(dataDir, 0, env);
  const port = Number(new URL(url).port);
  // The banner and the listening line may arrive in separate chunks of stdout.
  const password = opts.join
    ? opts.join.admin.password
    : await waitUntil('the one-time admin password in the relay output', () => /one-time password: (\S+)/.exec(output.text)?.[1], 5000, 20).catch(() => {
        throw new Error(`no one-time admin password in relay output:\n${output.tail()}`);
      });
  const tok = opts.join ? { status: 0, stdout: opts.join.apiToken, stderr: '' } : runSync(RELAY_BIN, ['token', 'create', '--name', 'harness', '--role', 'admin', '--data-dir', dataDir], env);
  if (tok.status !== 0) throw new Error(`token create failed: ${tok.stderr}`);

  const relay: RelayProc = {
    url,
    port,
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    admin: { username: 'admin', password },
    apiToken: tok.stdout.trim(),
    proc,
    output,
    async stop({ keepData = false } = {}) {
      relay.proc.kill('SIGTERM');
      await exited(relay.proc);
      if (!keepData) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        await pgdb?.drop();
      }
    },
    async kill() {
      relay.proc.kill('SIGKILL');
      await exited(relay.proc);
    },
    async restart() {
      ({ proc, output } = await spawnRelay(dataDir, port, env));
      relay.proc = proc;
      relay.output = output;
    },
    async api<T>(method: string, p: string, body?: unknown, token = relay.apiToken) {
      const res = await fetch(new URL(p, url), {
        method,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as T };
    },
  };
  return relay;
}

// ---- agent -------------------------------------------------------------------------------

export interface AgentProc {
  name: string;
  agentId: string;
  configPath: string;
  proc: ChildProcess;
  output: ProcOutput;
  /** SIGTERM, wait for the exit, then end its session hosts unless keepSessions (a restart test). */
  stop(opts?: { keepSessions?: boolean }): Promise<void>;
  /** Resolves with the exit code when the process ends. */
  exit: Promise<number | null>;
}

export interface StartAgentOptions {
  name?: string;
  tags?: string[];
  env?: Record<string, string>;
  /** Skip waiting for the agent to show online. */
  noWait?: boolean;
  /** Reuse an existing registration (config file) instead of registering. */
  configPath?: string;
}

/** A hand-driven agent link: registered through the API, connected, and (unless told not to) past hello. */
export interface RawAgentLink {
  agentId: string;
  ws: WebSocket;
  /** Every JSON message the relay sent, in order. */
  messages: { type: string; [k: string]: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
}

export async function connectRawAgent(relay: RelayProc, name: string, opts: { hello?: boolean } = {}): Promise<RawAgentLink> {
  const reg = await relay.api<{ agent: AgentView; credential: string }>('POST', '/api/agents/register', { name });
  if (reg.status !== 201) throw new Error(`register ${name}: HTTP ${reg.status}`);
  const agentId = reg.body.agent.id;
  const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/ws/agent/${agentId}`, { headers: { Authorization: `Bearer ${reg.body.credential}` } });
  const messages: RawAgentLink['messages'] = [];
  ws.on('message', (d, isBinary) => !isBinary && messages.push(JSON.parse(d.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  if (opts.hello !== false) {
    ws.send(JSON.stringify({ type: 'hello', protocolVersions: [PROTOCOL_VERSION], agentId, name, hostname: 'raw', os: 'linux', arch: 'x64', shell: '/bin/sh', version: 'test' }));
    await waitUntil('the relay hello', () => messages.find((m) => m.type === 'hello'));
  }
  return { agentId, ws, messages, closed };
}

export function registerAgent(relay: RelayProc, name: string, configPath: string, tags: string[] = []): { status: number | null; stdout: string; stderr: string } {
  return runSync(AGENT_BIN, ['register', '--host', relay.url, '--token', relay.apiToken, '--name', name, '--config', configPath, ...(tags.length ? ['--tags', tags.join(',')] : [])]);
}

/**
 * Starts `rexec-agent start`. HOME is the agent's temp directory, so its shells do not run the
 * host's dotfiles (on the CI machine root's .bashrc runs `pyenv rehash`, whose lock file, left
 * behind when a test kills a shell mid-startup, stalls every later login shell).
 */
export function spawnAgent(configPath: string, env: Record<string, string> = {}): { proc: ChildProcess; output: ProcOutput; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, [AGENT_BIN, 'start', '--config', configPath], {
    env: { ...process.env, HOME: path.dirname(configPath), ...FAST_LINK_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  sessionDirs.add(sessionStateDir(configPath));
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => (live.delete(proc), r(code))));
  return { proc, output: new ProcOutput(proc), exit };
}

export async function startAgent(relay: RelayProc, opts: StartAgentOptions = {}): Promise<AgentProc> {
  const name = opts.name ?? `agent-${randomBytes(3).toString('hex')}`;
  let configPath = opts.configPath;
  if (!configPath) {
    configPath = path.join(tempDir('agent'), 'agent.json');
    const reg = registerAgent(relay, name, configPath, opts.tags);
    if (reg.status !== 0) throw new Error(`rexec-agent register failed (${reg.status}): ${reg.stderr}${reg.stdout}`);
  }
  const agentId = (JSON.parse(fs.readFileSync(configPath, 'utf8')) as { agent_id: string }).agent_id;
  const { proc, output, exit } = spawnAgent(configPath, opts.env);
  const agent: AgentProc = {
    name,
    agentId,
    configPath,
    proc,
    output,
    exit,
    async stop({ keepSessions = false } = {}) {
      proc.kill('SIGTERM');
      await exit;
      // Sessions outlive the agent by design; a test's sessions should not outlive the test.
      if (!keepSessions) killSessionHosts(sessionStateDir(configPath));
    },
  };
  if (!opts.noWait) await waitForAgentStatus(relay, agentId, 'online').catch((err) => {
    throw new Error(`${(err as Error).message}\nagent output:\n${output.tail()}`);
  });
  return agent;
}

export async function waitForAgentStatus(relay: RelayProc, agentId: string, status: 'online' | 'offline', timeoutMs = 15_000): Promise<AgentView> {
  return waitUntil(`agent ${agentId} ${status}`, async () => {
    const r = await relay.api<{ agent: AgentView }>('GET', `/api/agents/${agentId}`);
    return r.status === 200 && r.body.agent.status === status ? r.body.agent : null;
  }, timeoutMs);
}

// ---- terminal client ---------------------------------------------------------------------

export interface TerminalOpenOptions {
  cols?: number;
  rows?: number;
  token?: string;
  auth?: 'subprotocol' | 'header';
  origin?: string;
  /** false: connect and wait for hello only. */
  start?: boolean;
  /** Join this existing session (instead of starting a shell) and wait for shell_attached. */
  attach?: { sessionId: string; offset?: number; readOnly?: boolean };
  /** Connect through a share link (`/ws/share`, the token in the sub-protocol) instead of as a person. */
  share?: string;
  /** Send acks for rendered output (flow control); false simulates a stalled viewer. */
  ack?: boolean;
  /** false: keep only `tail` (benchmarks: no work proportional to everything received). */
  keepText?: boolean;
}

/**
 * Speaks the browser terminal protocol like the web app: `text` holds every output byte exactly
 * once (frames are de-duplicated by offset), `gaps` the skipped byte counts, `messages` the JSON
 * control messages of the current socket. `reattach()` opens a new socket and resumes the same
 * session from `nextOffset`.
 */
export class TerminalClient {
  text = '';
  /** The last 256 characters received. */
  tail = '';
  bytes = 0;
  nextOffset = 0;
  gaps: number[] = [];
  /** The screen snapshot this socket started from (shell_attach with snapshot: true). */
  snapshot: Extract<RelayToClient, { type: 'shell_snapshot' }> | null = null;
  messages: RelayToClient[] = [];
  closed: { code: number; reason: string } | null = null;
  sessionId: string | null = null;
  ws!: WebSocket;
  /** Called after each chunk of new output (for waiting without polling). */
  onOutput: (() => void) | null = null;
  private decoder = new TextDecoder();
  private acked = 0;

  private constructor(private readonly relay: RelayProc, private readonly agent: string, private readonly opts: TerminalOpenOptions) {}

  static async open(relay: RelayProc, agent: string, opts: TerminalOpenOptions = {}): Promise<TerminalClient> {
    const client = new TerminalClient(relay, agent, opts);
    await client.connect();
    if (opts.attach) {
      client.nextOffset = client.acked = opts.attach.offset ?? 0;
      client.send({ type: 'shell_attach', sessionId: opts.attach.sessionId, offset: client.nextOffset, ...(opts.attach.readOnly ? { readOnly: true } : {}) });
      await client.waitForMessage('shell_attached');
    } else if (opts.start !== false) {
      client.send({ type: 'shell_start', cols: opts.cols ?? 80, rows: opts.rows ?? 24 });
      await client.waitForMessage('shell_started');
    }
    return client;
  }

  private async connect(): Promise<void> {
    const token = this.opts.token ?? this.relay.apiToken;
    const base = this.relay.url.replace(/^http/, 'ws');
    const url = this.opts.share ? `${base}/ws/share` : `${base}/ws/terminal/${encodeURIComponent(this.agent)}`;
    const ws = this.opts.share
      ? new WebSocket(url, [BROWSER_SUBPROTOCOL, SHARE_AUTH_SUBPROTOCOL_PREFIX + this.opts.share], { origin: this.opts.origin ?? this.relay.url })
      : this.opts.auth === 'subprotocol'
        ? new WebSocket(url, [BROWSER_SUBPROTOCOL, BROWSER_AUTH_SUBPROTOCOL_PREFIX + token], { origin: this.opts.origin ?? this.relay.url })
        : new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, ...(this.opts.origin ? { origin: this.opts.origin } : {}) });
    this.ws = ws;
    this.messages = [];
    this.closed = null;
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) this.onFrame(buf);
      else {
        const m = relayToClientSchema.parse(JSON.parse(buf.toString('utf8')));
        this.messages.push(m);
        if (m.type === 'shell_started' || m.type === 'shell_attached') this.sessionId = m.sessionId;
        if (m.type === 'shell_snapshot') {
          this.snapshot = m;
          this.nextOffset = this.acked = m.offset;
        }
      }
    });
    ws.on('close', (code, reason) => {
      if (ws === this.ws) this.closed = { code, reason: reason.toString() };
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
    });
    await this.waitForMessage('hello');
  }

  private onFrame(buf: Buffer): void {
    const f = decodeFrame(buf);
    const n = takeNewBytes(this.nextOffset, f.offset, f.payload);
    if (!n) return; // already have it (replay overlap)
    if (n.skipped) this.gaps.push(n.skipped);
    this.bytes += n.fresh.length;
    if (this.opts.keepText !== false) {
      const chunk = this.decoder.decode(n.fresh, { stream: true });
      this.text += chunk;
      this.tail = (this.tail + chunk.slice(-256)).slice(-256);
    } else {
      // Only the tail is watched (the benchmark): decode its last bytes, not the whole flood.
      this.tail = (this.tail + this.decoder.decode(n.fresh.subarray(-256))).slice(-256);
    }
    this.nextOffset = n.end;
    if (this.opts.ack !== false && this.nextOffset - this.acked >= SESSION_DEFAULTS.ackEveryBytes / 2) this.ackNow();
    this.onOutput?.();
  }

  /** Acknowledge everything received so far (the harness "renders" instantly). */
  ackNow(): void {
    this.acked = this.nextOffset;
    if (this.ws.readyState === WebSocket.OPEN) this.send({ type: 'ack', offset: this.acked });
  }

  /** Drop the current socket without a close handshake, as a network failure would. */
  cut(): void {
    this.ws.terminate();
  }

  /** A new socket, resuming the same session from the last byte received. */
  async reattach(): Promise<void> {
    if (!this.sessionId) throw new Error('no session to reattach');
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
    await this.connect();
    this.send({ type: 'shell_attach', sessionId: this.sessionId, offset: this.nextOffset });
    await this.waitForMessage('shell_attached');
    this.acked = this.nextOffset;
    this.ackNow();
  }

  /** A new client that joins `sessionId` with nothing rendered, asking for a screen snapshot. */
  static async attachWithSnapshot(relay: RelayProc, agent: string, sessionId: string, opts: TerminalOpenOptions = {}): Promise<TerminalClient> {
    const client = new TerminalClient(relay, agent, { ...opts, start: false });
    await client.connect();
    client.sessionId = sessionId;
    client.send({ type: 'shell_attach', sessionId, offset: 0, snapshot: true });
    await client.waitForMessage('shell_attached');
    client.ackNow();
    return client;
  }

  send(msg: ClientToRelay | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }
  input(data: string): void {
    this.send({ type: 'shell_input', data });
  }
  resize(cols: number, rows: number): void {
    this.send({ type: 'shell_resize', cols, rows });
  }

  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return waitUntil(`terminal output ${re} (got: ${JSON.stringify(this.text.slice(-300))})`, () => re.exec(this.text), timeoutMs, 20);
  }
  async waitForMessage<T extends RelayToClient['type']>(type: T, timeoutMs = 10_000): Promise<Extract<RelayToClient, { type: T }>> {
    return waitUntil(`"${type}" message (got ${JSON.stringify(this.messages)}; closed ${JSON.stringify(this.closed)})`, () => this.messages.find((m) => m.type === type) as Extract<RelayToClient, { type: T }> | undefined, timeoutMs, 20);
  }
  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitUntil('terminal socket to close', () => this.closed, timeoutMs, 20);
  }
  close(): void {
    this.ws.close();
  }
}

/** Parses `rexec exec`-style NDJSON from POST /api/agents/{id}/exec. */
export async function execViaApi(relay: RelayProc, agent: string, body: unknown): Promise<{ status: number; events: Record<string, unknown>[]; stdout: string; stderr: string }> {
  const res = await fetch(new URL(`/api/agents/${encodeURIComponent(agent)}/exec`, relay.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${relay.apiToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, events: [JSON.parse(text)], stdout: '', stderr: '' };
  const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const out = (s: string) => Buffer.concat(events.filter((e) => e.type === 'output' && e.stream === s).map((e) => Buffer.from(e.data as string, 'base64'))).toString();
  return { status: res.status, events, stdout: out('stdout'), stderr: out('stderr') };
}
