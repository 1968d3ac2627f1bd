/**
 * `pnpm bench`: what the relay path costs, measured against a local baseline in the same run.
 *
 *   terminal flood   bytes/s of a PTY flood read locally (node-pty in this process) vs. the same
 *                    command in a terminal through relay + agent (agent PTY -> WebSocket ->
 *                    relay -> WebSocket -> client)
 *   exec flood       bytes/s of a command's stdout spawned locally vs. through POST /exec (NDJSON)
 *   keystroke echo   round-trip time of one typed character echoed by the PTY, locally vs.
 *                    through relay + agent (p50 / p99 of N samples per round, BENCH_ROUNDS rounds
 *                    alternating, median round reported); then in the same session after
 *                    BENCH_ECHO_WARM more keystrokes, and in a new terminal on the warm relay and
 *                    agent (only its session host is new, as on a relay that has run a while)
 *   first prompt     time from asking for a shell to its first output (a login bash), locally
 *                    vs. a new terminal through relay + agent (with the agent's spare session host
 *                    ready, and right after another terminal, when the host starts from scratch)
 *   peak RSS         of the relay process, of the embedded database's process (PGlite runs in a
 *                    child of the relay), and of the agent with its session hosts, during the run
 *                    (VmRSS sampled every 250 ms); for the relay also the part that is mapped
 *                    files (RssFile: node's binary and libraries, shared between node processes)
 *
 * The floods are base64 of /dev/urandom (like a real noisy program), read until a sentinel.
 * The terminal flood runs BENCH_ROUNDS times (default 7), local and relay alternating, and the
 * medians are compared. Real processes on 127.0.0.1; prints a table. Sizes: BENCH_MB (default
 * 32), BENCH_ECHO (300 keystrokes a round), BENCH_ECHO_WARM (4500 keystrokes typed before the
 * echo is measured once more in the same session). BENCH_DB=postgres runs the relay on PostgreSQL (REXEC_TEST_PG_URL or
 * the local server) instead of the embedded database, to see the relay's own memory.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { spawnPty } from '../../agent/dist/sessions/pty.js';
import { TerminalClient, startAgent, startRelay, waitUntil } from '../test/harness.js';
import { nodeTree, rssFileOf, rssOf } from '../test/proc-stats.js';

const MB = Number(process.env.BENCH_MB ?? 32);
const ECHO_SAMPLES = Number(process.env.BENCH_ECHO ?? 300);
const ECHO_WARM = Number(process.env.BENCH_ECHO_WARM ?? 4500);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 7));
const DATABASE = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'embedded';
const flood = (mb: number) => `head -c ${Math.round((mb * 1024 * 1024 * 3) / 4)} /dev/urandom | base64 -w 200`;
const FLOOD = flood(MB);
/** Exec output is capped per stream (LIMITS.maxExecOutputBytes, 10 MiB): stay below it. */
const EXEC_MB = Math.min(MB, 8);
const EXEC_FLOOD = flood(EXEC_MB);
const MARK = 'BENCH-DONE';

function fmtRate(bytes: number, ms: number): string {
  return `${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s`;
}
/** VmRSS in MiB of a process and its node descendants (the agent's session hosts). */
function rssMiB(pid: number | undefined): number {
  return pid ? nodeTree(pid).reduce((sum, p) => sum + rssOf(p), 0) / 1024 / 1024 : NaN;
}
const CLEAN_HOME = fs.mkdtempSync('/tmp/rexec-bench-home-');

async function localFirstPrompt(): Promise<number> {
  const t0 = performance.now();
  // Same clean HOME as the harness gives agents, so neither side runs the host's dotfiles.
  const pty = spawnPty('/bin/bash', ['-l'], { cols: 80, rows: 24, cwd: '/', env: { ...process.env, HOME: CLEAN_HOME, TERM: 'xterm-256color' } as Record<string, string> });
  await new Promise<void>((r) => pty.onData(() => r()));
  const ms = performance.now() - t0;
  pty.kill();
  return ms;
}

async function relayFirstPrompt(relay: Awaited<ReturnType<typeof startRelay>>): Promise<number> {
  const t0 = performance.now();
  const t = await TerminalClient.open(relay, 'bench');
  await waitUntil('first output', () => t.bytes > 0, 15_000, 1);
  const ms = performance.now() - t0;
  t.send({ type: 'shell_stop' });
  return ms;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function localPtyFlood(): Promise<{ bytes: number; ms: number }> {
  const pty = spawnPty('/bin/sh', ['-c', `${FLOOD}; echo ${MARK}`], { cols: 200, rows: 50, cwd: '/', env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string> });
  const t0 = performance.now();
  let bytes = 0;
  let tail = '';
  await new Promise<void>((resolve) => {
    pty.onData((d) => {
      bytes += d.length;
      tail = (tail + d.subarray(-64).toString('latin1')).slice(-64);
      if (tail.includes(MARK)) resolve();
    });
    pty.onExit(() => resolve());
  });
  return { bytes, ms: performance.now() - t0 };
}

async function relayPtyFlood(term: TerminalClient): Promise<{ bytes: number; ms: number }> {
  const before = term.bytes;
  term.tail = '';
  const t0 = performance.now();
  term.input(`${FLOOD}; echo ${MARK}-$((1+1))\r`);
  await waitUntil('the flood sentinel', () => term.tail.includes(`${MARK}-2`), 300_000, 5);
  return { bytes: term.bytes - before, ms: performance.now() - t0 };
}

async function localExecFlood(): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  const p = spawn('/bin/sh', ['-c', EXEC_FLOOD]);
  let bytes = 0;
  p.stdout.on('data', (d: Buffer) => (bytes += d.length));
  await new Promise((r) => p.on('close', r));
  return { bytes, ms: performance.now() - t0 };
}

async function relayExecFlood(url: string, token: string, agent: string): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/agents/${agent}/exec`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ command: EXEC_FLOOD }),
  });
  let bytes = 0;
  let buf = '';
  const dec = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const ev = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (ev.type === 'output') bytes += Buffer.byteLength(ev.data, 'base64');
      if (ev.type === 'exit' && ev.truncated) throw new Error('exec output was truncated: lower BENCH_MB');
    }
  }
  return { bytes, ms: performance.now() - t0 };
}

async function localEcho(): Promise<number[]> {
  const pty = spawnPty('/bin/cat', [], { cols: 80, rows: 24, cwd: '/', env: { ...process.env } as Record<string, string> });
  const samples: number[] = [];
  let waiting: (() => void) | null = null;
  pty.onData(() => waiting?.());
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      waiting = r;
      pty.write('x');
    });
    samples.push(performance.now() - t0);
  }
  pty.kill();
  return samples;
}

/** Keystrokes into `cat` (started by the caller) in the relay terminal. */
async function relayEcho(term: TerminalClient): Promise<number[]> {
  const samples: number[] = [];
  // Wait for the echo as the local side does (an event, not a polling loop that would take a
  // core from the relay, agent and host on this 2-core machine).
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      term.onOutput = () => r();
      term.input('x');
    });
    samples.push(performance.now() - t0);
  }
  term.onOutput = null;
  term.input('\r'); // cat echoes the line back: keep the tty's line buffer short
  await new Promise((r) => setTimeout(r, 50));
  return samples;
}

/** ROUNDS rounds of relayEcho: each round's p50 and p99. */
async function relayEchoRounds(term: TerminalClient): Promise<{ p50: number[]; p99: number[] }> {
  const out = { p50: [] as number[], p99: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    const r = await relayEcho(term);
    out.p50.push(pct(r, 50));
    out.p99.push(pct(r, 99));
  }
  return out;
}

const relay = await startRelay({ database: DATABASE });
const agent = await startAgent(relay, { name: 'bench' });
/** The relay process alone, and its node children (the embedded database's process). */
const relayRss = () => ({ relay: rssOf(relay.proc.pid!) / 1024 / 1024, relayFile: rssFileOf(relay.proc.pid!) / 1024 / 1024, database: rssMiB(relay.proc.pid) - rssOf(relay.proc.pid!) / 1024 / 1024 });
const idle = { ...relayRss(), agent: rssMiB(agent.proc.pid) };
const peak = { ...idle };
const sampler = setInterval(() => {
  const r = relayRss();
  if (r.relay > peak.relay) peak.relayFile = r.relayFile;
  peak.relay = Math.max(peak.relay, r.relay || 0);
  peak.database = Math.max(peak.database, r.database || 0);
  peak.agent = Math.max(peak.agent, rssMiB(agent.proc.pid) || 0);
}, 250);
try {
  const term = await TerminalClient.open(relay, 'bench', { cols: 200, rows: 50, keepText: false });
  await relayPtyFlood(term); // warm-up
  const rows: string[][] = [];
  const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}% of local`;
  const localRates: number[] = [];
  const relayRates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const lp = await localPtyFlood();
    localRates.push(lp.bytes / lp.ms);
    const rp = await relayPtyFlood(term);
    relayRates.push(rp.bytes / rp.ms);
  }
  const [lRate, rRate] = [pct(localRates, 50), pct(relayRates, 50)];
  rows.push([`terminal flood (base64, median of ${ROUNDS})`, fmtRate(lRate, 1), fmtRate(rRate, 1), ratio(rRate, lRate)]);
  rows.push(['  ... each round, % of local', '', '', localRates.map((l, i) => ((relayRates[i]! / l) * 100).toFixed(0)).join(' ')]);
  const le = await localExecFlood();
  const re = await relayExecFlood(relay.url, relay.apiToken, 'bench');
  rows.push(['exec flood (base64)', fmtRate(le.bytes, le.ms), fmtRate(re.bytes, re.ms), ratio(re.bytes / re.ms, le.bytes / le.ms)]);
  // Echo in rounds too, local and relay alternating; each round's p50 and p99, then the median
  // round (one stall of the VM lands in one round instead of deciding the figure).
  const echoRounds = { local: { p50: [] as number[], p99: [] as number[] }, relay: { p50: [] as number[], p99: [] as number[] } };
  term.input('cat\r');
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < ROUNDS; i++) {
    const l = await localEcho();
    echoRounds.local.p50.push(pct(l, 50));
    echoRounds.local.p99.push(pct(l, 99));
    const r = await relayEcho(term);
    echoRounds.relay.p50.push(pct(r, 50));
    echoRounds.relay.p99.push(pct(r, 99));
  }
  // The same again once the session has taken BENCH_ECHO_WARM more keystrokes: the first few
  // thousand keystrokes of a session run while V8 still optimizes the input path in four processes
  // (docs/benchmarks.md, "Keystroke echo p99").
  for (let i = 0; i < ECHO_WARM; i += ECHO_SAMPLES) await relayEcho(term);
  const warm = await relayEchoRounds(term);
  term.input('\x03');
  term.send({ type: 'shell_stop' }); // sessions outlive their sockets (and the agent): end it
  await new Promise((r) => setTimeout(r, 1000)); // the agent's next spare session host starts
  // A new terminal on the now warm relay and agent, as on a relay that has been running a while:
  // only its session host (and its shell) are new.
  const term2 = await TerminalClient.open(relay, 'bench', { cols: 200, rows: 50, keepText: false });
  term2.input('cat\r');
  await new Promise((r) => setTimeout(r, 300));
  const fresh = await relayEchoRounds(term2);
  term2.input('\x03');
  term2.send({ type: 'shell_stop' });
  const med = (xs: number[]) => pct(xs, 50);
  const [l50, l99, r50, r99] = [med(echoRounds.local.p50), med(echoRounds.local.p99), med(echoRounds.relay.p50), med(echoRounds.relay.p99)];
  rows.push([
    `keystroke echo p50/p99 (median of ${ROUNDS})`,
    `${l50.toFixed(2)} / ${l99.toFixed(2)} ms`,
    `${r50.toFixed(2)} / ${r99.toFixed(2)} ms`,
    `+${(r50 - l50).toFixed(2)} ms at p50`,
  ]);
  rows.push(['  ... p99 of each round', echoRounds.local.p99.map((x) => x.toFixed(1)).join(' '), echoRounds.relay.p99.map((x) => x.toFixed(1)).join(' '), '']);
  rows.push([`  ... after ${ECHO_WARM} more keystrokes`, '-', `${med(warm.p50).toFixed(2)} / ${med(warm.p99).toFixed(2)} ms`, `rounds' p99: ${warm.p99.map((x) => x.toFixed(1)).join(' ')}`]);
  rows.push(['  ... a new terminal, relay and agent warm', '-', `${med(fresh.p50).toFixed(2)} / ${med(fresh.p99).toFixed(2)} ms`, `rounds' p99: ${fresh.p99.map((x) => x.toFixed(1)).join(' ')}`]);
  await new Promise((r) => setTimeout(r, 300));
  term.close();
  term2.close();
  const lf: number[] = [];
  const rf: number[] = [];
  // A terminal opened on an agent that had a moment (1 s) to start its spare session host, and
  // one opened right after another (the spare is still booting: a host starts from scratch).
  const rb: number[] = [];
  for (let i = 0; i < 5; i++) {
    lf.push(await localFirstPrompt());
    await new Promise((r) => setTimeout(r, 1000));
    rf.push(await relayFirstPrompt(relay));
    rb.push(await relayFirstPrompt(relay));
  }
  rows.push(['time to first prompt (median of 5)', `${pct(lf, 50).toFixed(0)} ms`, `${pct(rf, 50).toFixed(0)} ms`, `+${(pct(rf, 50) - pct(lf, 50)).toFixed(0)} ms`]);
  rows.push(['  ... right after another terminal', '-', `${pct(rb, 50).toFixed(0)} ms`, `+${(pct(rb, 50) - pct(lf, 50)).toFixed(0)} ms`]);
  clearInterval(sampler);
  rows.push(['relay RSS idle -> peak', '-', `${idle.relay.toFixed(0)} -> ${peak.relay.toFixed(0)} MiB`, `+${(peak.relay - idle.relay).toFixed(0)} MiB`]);
  rows.push(['  ... of it mapped files (node binary, libs)', '-', `${idle.relayFile.toFixed(0)} -> ${peak.relayFile.toFixed(0)} MiB`, 'shared with every node process']);
  if (DATABASE === 'embedded') rows.push(['embedded database process RSS idle -> peak', '-', `${idle.database.toFixed(0)} -> ${peak.database.toFixed(0)} MiB`, `+${(peak.database - idle.database).toFixed(0)} MiB`]);
  rows.push(['agent + session hosts RSS idle -> peak', '-', `${idle.agent.toFixed(0)} -> ${peak.agent.toFixed(0)} MiB`, `+${(peak.agent - idle.agent).toFixed(0)} MiB`]);
  const head = ['benchmark', 'local baseline', 'through relay', 'relative'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(`\nRexec relay path vs. local (terminal ${MB} MiB x ${ROUNDS}, exec ${EXEC_MB} MiB, ${ECHO_SAMPLES} echo samples, loopback, ${DATABASE} database)\n`);
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await agent.stop();
  await relay.stop();
}
// Nothing of the benchmark should keep running; exit even if a handle (a local PTY) lingers.
process.exit();
