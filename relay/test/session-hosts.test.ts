/**
 * Terminal sessions outlive the agent process (session hosts) and viewers can start from a
 * screen snapshot. Real relay, real agent processes, real PTYs:
 *  - `rexec-agent stop` + start, then SIGKILL + start, with a counter loop running: same shell
 *    pid, the counter kept going, and a reattached viewer sees every number once, in order.
 *  - vim in a session; a fresh viewer attaches with snapshot: true; snapshot + live output
 *    rendered in @xterm/headless show vim's screen.
 *  - a stale state file (dead host) is removed on start; a shell that exits while the agent is
 *    down reports its output and exit status to the restarted agent's viewer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createRequire } from 'node:module';
import type * as Headless from '@xterm/headless';
import {
  AGENT_BIN,
  TerminalClient,
  run,
  sessionHostStates,
  sessionStateDir,
  startAgent,
  startRelay,
  waitForAgentStatus,
  waitUntil,
  type AgentProc,
  type RelayProc,
} from './harness.js';

const { Terminal } = createRequire(import.meta.url)('@xterm/headless') as typeof Headless;
const LIMIT = { timeout: 120_000 };

let relay: RelayProc;
const relayReady = startRelay().then((r) => (relay = r));
after(async () => {
  await relay?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
}

/** The counter values in the output, checking each appears once and in order. */
function counterValues(text: string): number[] {
  return [...text.matchAll(/^c(\d+)\r?$/gm)].map((m) => Number(m[1]));
}
function assertContinuous(values: number[], what: string): void {
  assert.ok(values.length > 0, `${what}: no counter output`);
  for (let i = 1; i < values.length; i++) {
    assert.equal(values[i], values[i - 1]! + 1, `${what}: c${values[i - 1]} followed by c${values[i]} (at #${i})`);
  }
}

async function restart(agent: AgentProc, how: 'stop-command' | 'SIGKILL'): Promise<AgentProc> {
  if (how === 'stop-command') {
    const r = await run(AGENT_BIN, ['stop', '--config', agent.configPath]);
    assert.equal(r.status, 0, `rexec-agent stop: ${r.stderr}${r.stdout}`);
    assert.equal(await agent.exit, 0, 'the agent exits 0 on stop');
  } else {
    agent.proc.kill('SIGKILL');
    await agent.exit;
  }
  await waitForAgentStatus(relay, agent.agentId, 'offline');
  return startAgent(relay, { configPath: agent.configPath, name: agent.name });
}

test('a shell survives `rexec-agent stop` and SIGKILL of the agent; the viewer resumes a continuous stream', LIMIT, async () => {
  await relayReady;
  let agent = await startAgent(relay, { name: 'hosts-restart' });
  const term = await TerminalClient.open(relay, agent.name);
  term.input('echo PID=$$\r');
  const pid = Number((await term.waitFor(/PID=(\d+)/))[1]);
  assert.ok(alive(pid), 'shell runs');
  term.input('i=0; while :; do echo c$i; i=$((i+1)); sleep 0.02; done\r');
  await term.waitFor(/^c20\r?$/m);

  for (const how of ['stop-command', 'SIGKILL'] as const) {
    const before = counterValues(term.text).at(-1)!;
    agent = await restart(agent, how);
    assert.ok(alive(pid), `${how}: the shell is still running`);
    const states = sessionHostStates(agent.configPath);
    assert.equal(states.length, 1, `${how}: one session host`);
    assert.equal(states[0]!.pid, pid, `${how}: its shell is the same process`);
    assert.ok(alive(states[0]!.hostPid), `${how}: the host runs`);
    await term.reattach();
    await term.waitFor(new RegExp(`^c${before + 150}\\r?$`, 'm'), 20_000);
    assert.deepEqual(term.gaps, [], `${how}: no gap`);
    assertContinuous(counterValues(term.text), how);
  }
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.ok(st.length > 0, 'same pid still in /proc');
  term.input('\x03');
  term.send({ type: 'shell_stop' });
  await term.waitForMessage('shell_stopped', 15_000);
  await waitUntil('host files removed', () => sessionHostStates(agent.configPath).length === 0, 10_000);
  await agent.stop();
});

test('vim: a fresh viewer with snapshot: true gets the screen, rendered exactly', LIMIT, async () => {
  await relayReady;
  const agent = await startAgent(relay, { name: 'hosts-vim' });
  const dir = path.dirname(agent.configPath);
  fs.writeFileSync(path.join(dir, 'poem.txt'), 'first line of the file\nsecond line\nthird line\n');
  const term = await TerminalClient.open(relay, agent.name, { cols: 80, rows: 24 });
  await term.waitFor(/[#$] $/, 15_000);
  // Enough output before vim that a replay would have to rebuild the screen from scratch.
  term.input(`cd ${dir}; seq 1 3000; vim -u NONE -N -n --cmd 'set ruler' poem.txt\r`);
  await term.waitFor(/"poem\.txt" 3L/, 15_000);
  await new Promise((r) => setTimeout(r, 500)); // let vim finish drawing

  const viewer = await TerminalClient.attachWithSnapshot(relay, agent.name, term.sessionId!);
  assert.ok(viewer.snapshot, 'got a snapshot');
  assert.equal(viewer.snapshot!.cols, 80, 'snapshot cols');
  assert.equal(viewer.snapshot!.rows, 24, 'snapshot rows');
  assert.ok(viewer.snapshot!.offset > 10_000, `snapshot offset is past the seq output: ${viewer.snapshot!.offset}`);
  // Something live after the snapshot: move to line 2 (vim redraws the ruler).
  viewer.input('j');
  await new Promise((r) => setTimeout(r, 800));

  const screen = new Terminal({ cols: 80, rows: 24, allowProposedApi: true });
  await new Promise<void>((r) => screen.write(Buffer.from(viewer.snapshot!.data, 'base64'), r));
  await new Promise<void>((r) => screen.write(viewer.text, r));
  const line = (y: number) => (screen.buffer.active.getLine(y)?.translateToString(true) ?? '').trimEnd();
  const lines = Array.from({ length: 24 }, (_, y) => line(y));
  const shown = lines.join('\n');
  assert.equal(screen.buffer.active.type, 'alternate', 'vim runs on the alternate screen');
  assert.equal(lines[0], 'first line of the file', `line 1 of the file on row 1:\n${shown}`);
  assert.equal(lines[1], 'second line', `row 2:\n${shown}`);
  assert.equal(lines[2], 'third line', `row 3:\n${shown}`);
  for (let y = 3; y < 23; y++) assert.equal(lines[y], '~', `row ${y + 1} is a ~ line:\n${shown}`);
  assert.match(lines[23]!, /2,1\s+All/, `status line shows the cursor on line 2:\n${shown}`);
  assert.equal(screen.buffer.active.cursorY, 1, 'cursor on row 2');
  assert.ok(!viewer.text.includes('2999'), 'the seq output was not replayed');
  screen.dispose();

  viewer.input(':q!\r');
  await term.waitFor(/[#$] $/, 10_000).catch(() => {});
  term.send({ type: 'shell_stop' });
  await term.waitForMessage('shell_stopped', 15_000);
  await agent.stop();
});

test('a stale host state file is removed; an exit while the agent is down reaches the restarted agent', LIMIT, async () => {
  await relayReady;
  let agent = await startAgent(relay, { name: 'hosts-exit' });
  const term = await TerminalClient.open(relay, agent.name);
  term.input('echo ready\r');
  await term.waitFor(/^ready\r?$/m);
  // The shell outlives this agent, then exits with 7 while no agent runs.
  term.input('sleep 2; echo bye-$((6*7)); exit 7\r');
  await new Promise((r) => setTimeout(r, 200));
  await agent.stop({ keepSessions: true });
  const stateDir = sessionStateDir(agent.configPath);
  const stalePath = path.join(stateDir, 'stale1.json');
  fs.writeFileSync(stalePath, JSON.stringify({ version: 1, sessionId: 'stale1', hostPid: 999_999, pid: 999_998, cols: 80, rows: 24, startedAt: 'x', socket: path.join(stateDir, 'stale1.sock') }));
  fs.writeFileSync(path.join(stateDir, 'stale1.sock'), '');
  await new Promise((r) => setTimeout(r, 3500)); // the shell has exited meanwhile
  const held = sessionHostStates(agent.configPath).find((s) => s.sessionId === term.sessionId);
  assert.ok(held, 'the host waits with the exit status');
  assert.equal(alive(held.pid), false, 'the shell has exited');

  agent = await startAgent(relay, { configPath: agent.configPath, name: agent.name });
  await waitUntil('stale state file removed', () => !fs.existsSync(stalePath) && !fs.existsSync(path.join(stateDir, 'stale1.sock')), 10_000);
  await term.reattach();
  await term.waitFor(/^bye-42\r?$/m, 10_000);
  const stopped = await term.waitForMessage('shell_stopped', 10_000);
  assert.equal(stopped.exitCode, 7, 'the exit status survived the agent restart');
  await waitUntil('the host cleaned up', () => !sessionHostStates(agent.configPath).some((s) => s.sessionId === term.sessionId), 10_000);
  await agent.stop();
});
