/**
 * Terminal sessions that never lose output (protocol v2): detach and reattach, network cuts,
 * relay SIGKILL and restart, and flow control with a stalled viewer. Real relay, real agent,
 * real PTYs. Embedded database, or PostgreSQL with REXEC_TEST_DATABASE=postgres.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CloseCode, ErrorCode, type NudgeResponse, type SessionRecent, type SessionView } from '@rexec/shared';
import { spawnPty } from '../../agent/dist/sessions/pty.js';
import { RESTORE_LOCAL_TERMINAL } from '../src/cli/terminal-session.js';
import { CLI_BIN, TerminalClient, run, startAgent, startRelay, tempDir, waitForAgentStatus, waitUntil, type AgentProc, type RelayProc } from './harness.js';

/** Every line of `seq 1 N` exactly once and in order, whatever else the terminal printed. */
function assertSeq(text: string, n: number): void {
  const lines = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n|\r/);
  const nums = lines.filter((l) => /^\d+$/.test(l)).map(Number);
  for (let i = 0; i < n; i++) {
    if (nums[i] !== i + 1) {
      const at = text.indexOf(`\n${i}\r\n`);
      assert.fail(`number ${i + 1} missing or out of place (found ${nums[i]}); text there: ${JSON.stringify(text.slice(at, at + 80))}`);
    }
  }
  assert.equal(nums.length, n, `expected ${n} numbers, got ${nums.length}`);
}

async function reattachWhenPossible(t: TerminalClient, timeoutMs = 15_000): Promise<void> {
  await waitUntil('a successful reattach', async () => {
    try {
      await t.reattach();
      return true;
    } catch {
      return false;
    }
  }, timeoutMs, 200);
}

/** The `rexec` CLI logged in to `relay` (through its environment), with what it prints collected. */
function spawnCli(relay: RelayProc, args: string[]) {
  const env = { ...process.env, REXEC_HOST: relay.url, REXEC_TOKEN: relay.apiToken, REXEC_CLI_CONFIG: path.join(tempDir('cli'), 'cli.json') };
  const p = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const io = { out: '', err: '' };
  p.stdout.on('data', (d: Buffer) => (io.out += d));
  p.stderr.on('data', (d: Buffer) => (io.err += d));
  return { io, env, stdin: p.stdin, exit: new Promise<number | null>((r) => p.on('exit', (c) => r(c))) };
}

describe('resumable terminal sessions', () => {
  let relay: RelayProc;
  let agent: AgentProc;
  before(async () => {
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'keeper', env: { REXEC_AGENT_SESSION_IDLE_MS: '4000' } });
  });
  after(async () => {
    await agent?.stop();
    await relay?.stop();
  });

  test('closing the socket detaches; the same shell is there on reattach with its output', async () => {
    const t = await TerminalClient.open(relay, 'keeper');
    t.input('echo pid-$$; X=kept-$((6*7))\r');
    const pid = (await t.waitFor(/pid-(\d+)/))[1];
    t.close();
    await t.waitClosed();
    await t.reattach();
    t.input('echo "$X again-pid-$$"\r');
    await t.waitFor(new RegExp(`kept-42 again-pid-${pid}`));
    assert.deepEqual(t.gaps, []);
    t.send({ type: 'shell_stop' });
    assert.equal((await t.waitClosed()).code, CloseCode.SessionEnded);
  });

  test('seq 1 200000 through five network cuts: every number exactly once, in order', async () => {
    const t = await TerminalClient.open(relay, 'keeper', { cols: 120, rows: 40 });
    t.input('seq 1 200000; echo seq-$((1+1))-done\r');
    for (let cut = 0; cut < 5; cut++) {
      await waitUntil('some output', () => t.bytes > 200_000 * cut, 20_000, 10);
      t.cut();
      await new Promise((r) => setTimeout(r, 100 + cut * 50));
      await t.reattach();
    }
    await t.waitFor(/seq-2-done/, 60_000);
    assertSeq(t.text, 200_000);
    assert.deepEqual(t.gaps, [], 'no output skipped');
    t.send({ type: 'shell_stop' });
  });

  test('a stalled viewer pauses the producer; acking resumes it; Ctrl-C works during a flood', async () => {
    const t = await TerminalClient.open(relay, 'keeper', { ack: false });
    t.input('seq 1 3000000; echo flood-$((1+1))-done\r');
    await waitUntil('the first window of output', () => t.bytes > 100_000, 10_000, 10);
    await new Promise((r) => setTimeout(r, 1500));
    const stalledAt = t.bytes;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(t.bytes, stalledAt, 'nothing more arrives while the viewer does not acknowledge');
    assert.ok(stalledAt < 2 * 1024 * 1024, `bounded by the flow-control window (got ${stalledAt} bytes)`);
    t.ackNow();
    await waitUntil('output to resume after the ack', () => t.bytes > stalledAt, 5000, 10);
    // Now a fast viewer again: interrupt the flood.
    (t as unknown as { opts: { ack: boolean } }).opts.ack = true;
    t.ackNow();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    t.input('\x03');
    t.input('echo after-$((3+4))-interrupt\r');
    await t.waitFor(/after-7-interrupt/, 10_000);
    assert.ok(Date.now() - t0 < 5000, `Ctrl-C took ${Date.now() - t0} ms`);
    assert.doesNotMatch(t.text, /flood-2-done/, 'the flood was interrupted, not finished');
    t.send({ type: 'shell_stop' });
  });

  test('a session nobody attaches to ends after its idle timeout; attaching then reports it ended', async () => {
    const t = await TerminalClient.open(relay, 'keeper');
    const sessionId = t.sessionId!;
    t.close();
    await t.waitClosed();
    await new Promise((r) => setTimeout(r, 5500));
    const again = await TerminalClient.open(relay, 'keeper', { start: false });
    again.send({ type: 'shell_attach', sessionId, offset: 0 });
    await again.waitForMessage('shell_stopped');
    assert.equal((await again.waitClosed()).code, CloseCode.SessionEnded);
  });

  test('sessions are listed; rexec tail follows one; rexec attach joins it and Ctrl-] detaches', async () => {
    const t = await TerminalClient.open(relay, 'keeper');
    t.input('echo listed-$((1+2))\r');
    await t.waitFor(/listed-3/);
    const list = await relay.api<{ sessions: SessionView[] }>('GET', '/api/agents/keeper/sessions');
    const mine = list.body.sessions.find((x) => x.id === t.sessionId);
    assert.ok(mine, 'the session is listed');
    assert.equal(mine.live, true);
    assert.equal(mine.viewers, 1);

    const env = { REXEC_HOST: relay.url, REXEC_TOKEN: relay.apiToken, REXEC_CLI_CONFIG: path.join(tempDir('cli'), 'cli.json') };
    const listed = await run(CLI_BIN, ['sessions', '--agent', 'keeper'], env);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${t.sessionId}\\s+token:harness`));

    const tail = spawn(process.execPath, [CLI_BIN, 'tail', t.sessionId!, '--agent', 'keeper'], { env: { ...process.env, ...env } });
    let tailOut = '';
    tail.stdout.on('data', (d: Buffer) => (tailOut += d));
    const tailExit = new Promise<number | null>((r) => tail.on('exit', (c) => r(c)));
    await waitUntil('tail to replay the buffer', () => /listed-3/.test(tailOut));
    t.input('echo live-$((2+3))\r');
    await waitUntil('tail to follow live output', () => /live-5/.test(tailOut));

    const att = spawn(process.execPath, [CLI_BIN, 'attach', t.sessionId!, '--agent', 'keeper'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let attOut = '';
    let attErr = '';
    att.stdout.on('data', (d: Buffer) => (attOut += d));
    att.stderr.on('data', (d: Buffer) => (attErr += d));
    const attExit = new Promise<number | null>((r) => att.on('exit', (c) => r(c)));
    await waitUntil('attach to replay the buffer', () => /live-5/.test(attOut));
    att.stdin.write('echo from-cli-$((3+4))\r');
    await t.waitFor(/from-cli-7/); // the other viewer sees what the CLI typed
    att.stdin.write('\x1d');
    assert.equal(await attExit, 0, attErr);
    assert.match(attErr, /detached/);

    t.input('echo still-here-$((4+4))\r');
    await t.waitFor(/still-here-8/);
    await waitUntil('tail to see it too', () => /still-here-8/.test(tailOut));
    t.send({ type: 'shell_stop' });
    assert.equal(await tailExit, 0, 'tail ends when the session ends');
  });

  test('rexec shell opens a new session, detaches with Ctrl-] leaving it running, and exits with the shell status', async () => {
    const shell = () => spawnCli(relay, ['shell', '--agent', 'keeper']);

    const first = shell();
    const sessionId = (await waitUntil('the session id on stderr', () => /session (\S+) on keeper/.exec(first.io.err)?.[1]))!;
    first.stdin.write('echo from-shell-$((6*7))\r');
    await waitUntil('the shell to answer', () => /from-shell-42/.test(first.io.out));
    const listed = await relay.api<{ sessions: SessionView[] }>('GET', '/api/agents/keeper/sessions');
    const mine = listed.body.sessions.find((x) => x.id === sessionId);
    assert.ok(mine, `the new session ${sessionId} is listed`);
    assert.equal(mine.openedBy, 'token:harness');
    first.stdin.write('sleep 0.3; echo after-detach-$((7*7))\r\x1d');
    assert.equal(await first.exit, 0, first.io.err);
    assert.match(first.io.err, new RegExp(`detached from ${sessionId}; it keeps running`));
    // It kept running: what the shell printed after the detach is there for the next viewer.
    const t = await TerminalClient.open(relay, 'keeper', { start: false });
    t.send({ type: 'shell_attach', sessionId, offset: 0 });
    await t.waitFor(/after-detach-49/);
    t.send({ type: 'shell_stop' });
    await t.waitClosed();

    const second = shell();
    await waitUntil('a second session', () => /session \S+ on keeper/.test(second.io.err));
    second.stdin.write('exit 3\r');
    assert.equal(await second.exit, 3, `rexec shell exits with the shell's status: ${second.io.err}`);
    assert.match(second.io.err, /session ended \(exit 3\)/);

    const offline = await run(CLI_BIN, ['shell', '--agent', 'nobody-here'], first.env as Record<string, string>);
    assert.notEqual(offline.status, 0, 'an unknown agent fails');
    assert.match(offline.stderr, /rexec: no such agent/);
  });

  test('rexec shell in a real terminal: its size and resizes reach the shell, and a detach restores the local terminal', async () => {
    const env = { ...process.env, REXEC_HOST: relay.url, REXEC_TOKEN: relay.apiToken, REXEC_CLI_CONFIG: path.join(tempDir('cli'), 'cli.json'), TERM: 'xterm-256color' } as Record<string, string>;
    const local = spawnPty(process.execPath, [CLI_BIN, 'shell', '--agent', 'keeper'], { cols: 100, rows: 30, cwd: '/', env });
    let seen = '';
    local.onData((d) => (seen += d.toString('utf8')));
    const exit = new Promise<number | null>((r) => local.onExit((e) => r(e.exitCode)));
    await waitUntil('the session to start', () => /session \S+ on keeper/.test(seen));
    local.write('stty size\r');
    await waitUntil('the shell at the local size', () => /\r30 100\r/.test(seen), 5000);
    local.resize(120, 40);
    await new Promise((r) => setTimeout(r, 300));
    local.write('stty size\r');
    await waitUntil('the shell at the new size', () => /\r40 120\r/.test(seen), 5000);
    // A program switches on the alternate screen and bracketed paste, as vim does; then detach.
    local.write("printf '\\033[?1049h\\033[?2004hALT-%s' $((5*5))\r");
    await waitUntil('the program output', () => seen.includes('\x1b[?1049h\x1b[?2004hALT-25'), 5000);
    local.write('\x1d');
    assert.equal(await exit, 0, seen.slice(-300));
    const tail = seen.slice(seen.lastIndexOf('ALT-25'));
    assert.ok(tail.includes(RESTORE_LOCAL_TERMINAL), `the local terminal is restored after the detach: ${JSON.stringify(tail)}`);
    assert.match(tail, /detached from \S+; it keeps running/);
  });

  test('recent output, idle time and nudge: at once, once quiet, timing out on a busy session', async () => {
    const t = await TerminalClient.open(relay, 'keeper');
    t.input('echo peek-$((8*8))\r');
    await t.waitFor(/peek-64/);
    const sid = t.sessionId!;
    const base = `/api/agents/keeper/sessions/${sid}`;
    const recent = await relay.api<SessionRecent>('GET', `${base}/recent?bytes=200`);
    assert.equal(recent.status, 200);
    assert.match(recent.body.text, /peek-64/);
    assert.ok(recent.body.outputBytes > 0, 'recent.body.outputBytes > 0');

    const now = await relay.api<NudgeResponse>('POST', `${base}/nudge`, { text: 'echo nudged-$((1+1))\r' });
    assert.equal(now.body.status, 'delivered');
    await t.waitFor(/nudged-2/);

    // Output for about 1.5 s, then quiet: a 1 s quiet-period nudge lands only after that.
    t.input('for i in 1 2 3 4 5 6; do echo tick-$i; sleep 0.25; done\r');
    await t.waitFor(/tick-1/);
    const t0 = Date.now();
    const quiet = await relay.api<NudgeResponse>('POST', `${base}/nudge`, { text: 'echo after-quiet-$((2+2))\r', whenIdleSec: 1, timeoutSec: 10 });
    assert.equal(quiet.body.status, 'delivered');
    assert.ok((quiet.body.idleMs ?? 0) >= 1000, `idle ${quiet.body.idleMs} ms when delivered`);
    assert.ok(Date.now() - t0 >= 1800, `delivered after ${Date.now() - t0} ms, before the ticks ended`);
    await t.waitFor(/after-quiet-4/);
    assert.ok(t.text.indexOf('tick-6') < t.text.indexOf('after-quiet-4'), 'every tick came before the nudge');

    // A session that never goes quiet: the nudge times out and types nothing.
    t.input('while :; do echo busy; sleep 0.2; done\r');
    await t.waitFor(/busy/);
    const busy = await relay.api<NudgeResponse>('POST', `${base}/nudge`, { text: 'echo never-typed\r', whenIdleSec: 1, timeoutSec: 2 });
    assert.equal(busy.body.status, 'timed_out');
    t.input('\x03');

    // The CLI: nudge with Enter, and recent.
    const env = { REXEC_HOST: relay.url, REXEC_TOKEN: relay.apiToken, REXEC_CLI_CONFIG: path.join(tempDir('cli'), 'cli.json') };
    const cli = await run(CLI_BIN, ['nudge', sid, '--agent', 'keeper', '--text', 'echo cli-nudge-$((3+3))', '--enter'], env);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /delivered/);
    await t.waitFor(/cli-nudge-6/);
    const rec = await run(CLI_BIN, ['recent', sid, '--agent', 'keeper', '--bytes', '300'], env);
    assert.equal(rec.status, 0, rec.stderr);
    assert.match(rec.stdout, /cli-nudge-6/);
    assert.doesNotMatch(t.text, /^never-typed/m);

    assert.equal((await relay.api('POST', '/api/agents/keeper/sessions/nosuchsession/nudge', { text: 'x' })).status, 404);
    t.send({ type: 'shell_stop' });
  });

  test("attaching to an unknown session is refused", async () => {
    const t = await TerminalClient.open(relay, 'keeper', { start: false });
    t.send({ type: 'shell_attach', sessionId: 'nosuchsession', offset: 0 });
    assert.equal((await t.waitForMessage('error')).code, ErrorCode.SessionNotFound);
    assert.equal((await t.waitClosed()).code, CloseCode.SessionEnded);
  });
});

describe('resume across a relay crash', () => {
  let relay: RelayProc;
  let agent: AgentProc;
  before(async () => {
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'survivor' });
  });
  after(async () => {
    await agent?.stop();
    await relay?.stop();
  });

  test('relay killed with SIGKILL mid-output and restarted: the shell lives on and no output is lost', async () => {
    const t = await TerminalClient.open(relay, 'survivor', { cols: 120, rows: 40 });
    t.input('echo pid-$$; seq 1 200000; echo seq-$((1+1))-done\r');
    const pid = (await t.waitFor(/pid-(\d+)/))[1];
    await waitUntil('output under way', () => t.bytes > 300_000, 20_000, 5);
    await relay.kill();
    await relay.restart();
    await waitForAgentStatus(relay, agent.agentId, 'online', 15_000);
    await reattachWhenPossible(t);
    await t.waitFor(/seq-2-done/, 60_000);
    assertSeq(t.text, 200_000);
    assert.deepEqual(t.gaps, []);
    t.input('echo same-pid-$$\r');
    await t.waitFor(new RegExp(`same-pid-${pid}`));
    t.send({ type: 'shell_stop' });
  });
  test('rexec shell and rexec tail ride out a relay SIGKILL and restart: they reconnect by themselves and nothing is lost or doubled', async () => {
    const shell = spawnCli(relay, ['shell', '--agent', 'survivor']);
    const sessionId = (await waitUntil('the session id', () => /session (\S+) on survivor/.exec(shell.io.err)?.[1]))!;
    const tail = spawnCli(relay, ['tail', sessionId, '--agent', 'survivor']);
    shell.stdin.write('echo ready-$((3*3))\r');
    await waitUntil('rexec tail to follow', () => /ready-9/.test(tail.io.out));
    shell.stdin.write('seq 1 100000; echo seq-$((2+2))-done\r');
    await waitUntil('output under way', () => shell.io.out.length > 150_000, 20_000, 5);
    await relay.kill();
    await relay.restart();
    await waitUntil('the shell client to reconnect', () => /\[rexec: reconnected\]/.test(shell.io.err), 30_000);
    await waitUntil('the whole sequence in rexec shell', () => /seq-4-done/.test(shell.io.out), 60_000);
    await waitUntil('the whole sequence in rexec tail', () => /seq-4-done/.test(tail.io.out), 30_000);
    assert.match(shell.io.err, /connection lost; reconnecting/);
    assert.match(tail.io.err, /reconnecting \(Ctrl-C to give up\)/);
    assertSeq(shell.io.out, 100_000);
    assertSeq(tail.io.out, 100_000);
    // Still the same live session: typing after the reconnection reaches the shell.
    shell.stdin.write('exit 5\r');
    assert.equal(await shell.exit, 5, shell.io.err);
    assert.equal(await tail.exit, 0, tail.io.err);
  });

  test('rexec shell rides out an agent restart: offline, then reconnected to the same shell', async () => {
    const { io, stdin, exit } = spawnCli(relay, ['shell', '--agent', 'survivor']);
    await waitUntil('the session', () => /session \S+ on survivor/.test(io.err));
    stdin.write('echo pid-$$\r');
    const pid = (await waitUntil('the shell pid', () => /pid-(\d+)/.exec(io.out)))[1];
    await agent.stop({ keepSessions: true });
    await waitUntil('the CLI to see the agent go', () => /the agent is offline; reconnecting/.test(io.err), 15_000);
    agent = await startAgent(relay, { name: 'survivor', configPath: agent.configPath });
    await waitUntil('the CLI to reconnect', () => /\[rexec: reconnected\]/.test(io.err), 30_000);
    stdin.write('echo same-pid-$$\r');
    await waitUntil('the same shell', () => new RegExp(`same-pid-${pid}`).test(io.out), 10_000);
    stdin.write('exit 0\r');
    assert.equal(await exit, 0, io.err);
  });

  test('sessions an agent no longer holds after its restart are reported ended, not listed', async () => {
    const t = await TerminalClient.open(relay, 'survivor');
    const sessionId = t.sessionId!;
    t.close();
    const listed = async () => (await relay.api<{ sessions: SessionView[] }>('GET', '/api/agents/survivor/sessions')).body.sessions.map((s) => s.id);
    assert.ok((await listed()).includes(sessionId), 'listed while the agent holds it');
    // The agent process restarts and, meanwhile, the session's host dies with its shell (stop()
    // ends them; sessions otherwise outlive the agent, see session-hosts.test.ts).
    await agent.stop();
    agent = await startAgent(relay, { name: 'survivor', configPath: agent.configPath });
    await waitUntil('the hello reconciliation', async () => !(await listed()).includes(sessionId), 10_000);
    const again = await TerminalClient.open(relay, 'survivor', { start: false });
    again.send({ type: 'shell_attach', sessionId, offset: 0 });
    assert.equal((await again.waitClosed()).code, CloseCode.SessionEnded);
  });
});
