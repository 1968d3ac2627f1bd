import { WebSocketServer } from 'ws';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((r) => wss.on('listening', r));
const port = (wss.address() as any).port;
const dir = fs.mkdtempSync('/tmp/lat-');
fs.writeFileSync(`${dir}/agent.json`, JSON.stringify({ api_url: `http://127.0.0.1:${port}`, agent_id: 'a1', token: 'rxa_' + 'q'.repeat(43), name: 'a1' }), { mode: 0o600 });
const agent = spawn('strace', ['-f', '-tt', '-T', '-o', '/tmp/st.txt', process.execPath, 'agent/bin/rexec-agent.js', 'start', '--config', `${dir}/agent.json`], { stdio: 'inherit', env: { ...process.env, HOME: dir } });
const ws: any = await new Promise((r) => wss.on('connection', r));
let onBin: ((b: Buffer) => void) | null = null;
ws.on('message', (d: Buffer, bin: boolean) => {
  if (bin) return onBin?.(d);
  const m = JSON.parse(d.toString());
  if (m.type === 'hello') ws.send(JSON.stringify({ type: 'hello', protocolVersion: 1, agentId: 'a1', heartbeatIntervalMs: 15000, deadLinkTimeoutMs: 45000 }));
});
await new Promise((r) => setTimeout(r, 300));
ws.send(JSON.stringify({ type: 'shell_start', sessionId: 's1', cols: 80, rows: 24, shell: '/bin/sh' }));
await new Promise((r) => setTimeout(r, 500));
ws.send(JSON.stringify({ type: 'shell_input', sessionId: 's1', data: 'cat\r' }));
await new Promise((r) => setTimeout(r, 300));
const xs: number[] = [];
for (let i = 0; i < 100; i++) {
  const t0 = performance.now();
  await new Promise<void>((r) => { onBin = () => { onBin = null; r(); }; ws.send(JSON.stringify({ type: 'shell_input', sessionId: 's1', data: 'x' })); });
  xs.push(performance.now() - t0);
}
xs.sort((a, b) => a - b);
console.log('agent-only echo p50', xs[50].toFixed(2), 'p95', xs[95].toFixed(2));
agent.kill('SIGTERM'); wss.close(); process.exit(0);
