/**
 * Test helpers shared by the agent tests: temp dirs, a recording LinkSink, a tiny relay
 * (http + ws on 127.0.0.1, port 0) that speaks the real agent protocol, and waitFor.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, WebSocket } from 'ws';
import { PROTOCOL_VERSION, decodeFrame, type AgentToRelay, type Frame } from '@rexec/shared';
import type { LinkSink } from '../src/sink.js';
import type { PtyExit, PtyProcess, PtySpawnOptions } from '../src/sessions/pty.js';

/**
 * A temp dir removed after the test. An agent still running on a config in it (its pid file
 * says so) is killed first, so it cannot outlive the test and recreate the dir.
 */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'rexec-agent-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (name.endsWith('.sessions')) killSessionHosts(join(dir, name));
      if (!name.endsWith('.pid')) continue;
      const pid = Number.parseInt(readFileSync(join(dir, name), 'utf8'), 10);
      if (pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Kills the session hosts (and their shells) whose state files are in `stateDir`. */
export function killSessionHosts(stateDir: string): void {
  for (const name of existsSync(stateDir) ? readdirSync(stateDir) : []) {
    if (!name.endsWith('.json')) continue;
    try {
      const st = JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as { hostPid?: number; pid?: number };
      for (const pid of [st.hostPid, st.pid]) if (typeof pid === 'number' && pid > 1) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone or unreadable */
    }
  }
}

export async function waitFor<T>(probe: () => T | undefined | false | null, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Collects what session and exec code sends; `buffered` simulates a slow socket. */
export class RecordingSink implements LinkSink {
  readonly messages: AgentToRelay[] = [];
  readonly frames: Frame[] = [];
  /** Everything in send order: `json:<type>` or `frame:<id>`. */
  readonly order: string[] = [];
  buffered = 0;
  open = true;

  sendJson(msg: AgentToRelay): boolean {
    if (!this.open) return false;
    this.messages.push(msg);
    this.order.push(`json:${msg.type}`);
    return true;
  }
  sendBinary(frame: Uint8Array): boolean {
    if (!this.open) return false;
    const f = decodeFrame(frame);
    this.frames.push(f);
    this.order.push(`frame:${f.id}`);
    return true;
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  of<T extends AgentToRelay['type']>(type: T): Extract<AgentToRelay, { type: T }>[] {
    return this.messages.filter((m): m is Extract<AgentToRelay, { type: T }> => m.type === type);
  }
  /** Concatenated payload of one stream (frames of `kind` for `id`), checking offsets are contiguous. */
  output(id: string, kind?: number): string {
    return this.outputBytes(id, kind).toString('utf8');
  }
  outputBytes(id: string, kind?: number): Buffer {
    let expected = 0;
    const parts: Uint8Array[] = [];
    for (const f of this.frames) {
      if (f.id !== id || (kind !== undefined && f.kind !== kind)) continue;
      if (f.offset !== expected) throw new Error(`gap in ${id}: frame at ${f.offset}, expected ${expected}`);
      expected += f.payload.length;
      parts.push(f.payload);
    }
    return Buffer.concat(parts);
  }
}

export interface RelayConnection {
  ws: WebSocket;
  req: IncomingMessage;
  /** Parsed JSON messages from the agent. */
  messages: AgentToRelay[];
  frames: Frame[];
  closed: { code: number; reason: string } | undefined;
}

export interface TestRelayOptions {
  /** Answer the upgrade with this HTTP status and JSON body instead of 101. */
  reject?: { status: number; body: unknown };
  /** Answer the agent's hello (default true). */
  helloReply?: boolean;
  heartbeatIntervalMs?: number;
  deadLinkTimeoutMs?: number;
  /** Answers plain HTTP requests (the REST API); default 404. */
  http?: (req: RecordedRequest) => { status: number; body?: unknown };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A relay stand-in: counts upgrade attempts, records messages, answers hello. */
export class TestRelay {
  readonly connections: RelayConnection[] = [];
  upgrades = 0;
  readonly requests: RecordedRequest[] = [];
  private server!: Server;
  private wss!: WebSocketServer;
  private sockets = new Set<Socket>();
  port = 0;

  constructor(readonly opts: TestRelayOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
        this.requests.push(rec);
        const answer = this.opts.http?.(rec) ?? { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } };
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.upgrades++;
      const reject = this.opts.reject;
      if (reject) {
        const body = JSON.stringify(reject.body);
        socket.end(
          `HTTP/1.1 ${reject.status} Rejected\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const conn: RelayConnection = { ws, req, messages: [], frames: [], closed: undefined };
    this.connections.push(conn);
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) {
        conn.frames.push(decodeFrame(buf));
        return;
      }
      const msg = JSON.parse(buf.toString('utf8')) as AgentToRelay;
      conn.messages.push(msg);
      if (msg.type === 'hello' && this.opts.helloReply !== false) {
        ws.send(
          JSON.stringify({
            type: 'hello',
            protocolVersion: PROTOCOL_VERSION,
            agentId: msg.agentId,
            heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 15_000,
            deadLinkTimeoutMs: this.opts.deadLinkTimeoutMs ?? 45_000,
          }),
        );
      }
    });
    ws.on('close', (code, reason) => (conn.closed = { code, reason: reason.toString() }));
  }

  /** The newest connection, once it has sent hello. */
  async connection(index?: number, timeoutMs = 5000): Promise<RelayConnection> {
    return waitFor(() => {
      const c = index === undefined ? this.connections.at(-1) : this.connections[index];
      return c && c.messages.some((m) => m.type === 'hello') ? c : undefined;
    }, `agent connection ${index ?? 'latest'}`, timeoutMs);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    for (const s of this.sockets) s.destroy();
    this.wss?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Minimal agent config for a registration against `apiUrl`. */
export function registrationJson(apiUrl: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ api_url: apiUrl, agent_id: 'agent-1', token: 'rxa_' + 'c'.repeat(43), name: 'test-agent', shell: '/bin/sh', ...extra });
}

/** Echoes input back as output; exits on kill. Records what it was asked to do. */
export class EchoPty implements PtyProcess {
  static nextPid = 1000;
  readonly pid = EchoPty.nextPid++;
  paused = false;
  signals: string[] = [];
  size: [number, number];
  private dataListeners: ((b: Buffer) => void)[] = [];
  private exitListeners: ((e: PtyExit) => void)[] = [];
  constructor(
    readonly file: string,
    readonly args: string[],
    readonly options: PtySpawnOptions,
    private readonly ignoreHup = false,
  ) {
    this.size = [options.cols, options.rows];
  }
  onData(l: (b: Buffer) => void) {
    this.dataListeners.push(l);
    return { dispose: () => void (this.dataListeners = this.dataListeners.filter((x) => x !== l)) };
  }
  onExit(l: (e: PtyExit) => void) {
    this.exitListeners.push(l);
    return { dispose: () => void (this.exitListeners = this.exitListeners.filter((x) => x !== l)) };
  }
  emit(data: string | Buffer) {
    for (const l of this.dataListeners) l(Buffer.from(data));
  }
  write(data: string) {
    this.emit(data);
  }
  resize(cols: number, rows: number) {
    this.size = [cols, rows];
  }
  kill(signal: NodeJS.Signals = 'SIGHUP') {
    this.signals.push(signal);
    if (signal === 'SIGHUP' && this.ignoreHup) return;
    setImmediate(() => this.exit({ exitCode: null, signal }));
  }
  exit(e: PtyExit) {
    for (const l of this.exitListeners) l(e);
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
}

export { WebSocket };
