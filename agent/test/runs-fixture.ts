/** A RunManager on a recording sink with real processes, in a temp dir of its own. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { runStartSchema, type Frame, type RunFinished, type RunStart } from '@rexec/shared';
import { processAlive } from '../src/exec/process-group.js';
import { FlowGate } from '../src/flow.js';
import { RunManager, type RunManagerOptions } from '../src/runs/run-manager.js';
import { RecordingSink, tempDir, waitFor } from './helpers.js';

/** Every test fails instead of hanging when something is never reported. */
export const LIMIT = { timeout: 30_000 };

export type RunFields = Partial<Omit<RunStart, 'type'>> & { command: string };

export function runSetup(t: { after(fn: () => unknown): void }, opts: Partial<RunManagerOptions> = {}) {
  const dir = realpathSync(tempDir(t, 'rexec-runs-test-'));
  const work = join(dir, 'work');
  const home = join(dir, 'home');
  const outside = join(dir, 'outside');
  for (const d of [work, home, outside]) mkdirSync(d);
  const recordsDir = join(dir, 'agent.runs');
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => sink.bufferedAmount(), pollMs: 5 });
  const manager = new RunManager({
    sink,
    gate,
    shell: '/bin/sh',
    workingDir: work,
    allowedRoots: [work],
    recordsDir,
    // A temp HOME: nothing from the real one (say a stalling ~/.bashrc) reaches the runs.
    env: { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' },
    exitDrainMs: 100,
    ...opts,
  });
  t.after(async () => {
    await manager.stopAll();
    gate.dispose();
  });
  let n = 0;
  const start = (fields: RunFields) => {
    const msg = runStartSchema.parse({ type: 'run_start', runId: `r${++n}`, env: {}, timeoutMs: 20_000, maxOutputBytes: 1024 * 1024, killGraceMs: 1000, ...fields });
    const result = manager.start(msg);
    assert.ok(result, 'run_start was refused as a conflict');
    return { msg, id: msg.runId, result };
  };
  const finished = (id: string): RunFinished[] => sink.of('run_finished').filter((m) => m.runId === id);
  const started = (id: string) => sink.of('run_started').find((m) => m.runId === id);
  return { dir, work, home, outside, recordsDir, sink, gate, manager, start, finished, started };
}

/**
 * The combined output of run `id` from frames[from...]: frames must follow each other without a
 * gap (a replay may overlap what came before; overlapping bytes must match).
 */
export function combined(frames: readonly Frame[], id: string, from = 0, startOffset?: number): Buffer {
  let have: number | undefined = startOffset;
  const parts: Buffer[] = [];
  for (const f of frames.slice(from)) {
    if (f.id !== id) continue;
    have ??= f.offset;
    if (f.offset > have) throw new Error(`gap in ${id}: frame at ${f.offset}, expected ${have}`);
    const end = f.offset + f.payload.length;
    if (end <= have) continue;
    parts.push(Buffer.from(f.payload.subarray(have - f.offset)));
    have = end;
  }
  return Buffer.concat(parts);
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const r = spawnSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => processAlive(pid));
}

/** Waits until nothing of group `pgid` is alive (a SIGKILLed process takes a moment to go). */
export async function groupGone(pgid: number, timeoutMs = 2000): Promise<void> {
  await waitFor(() => groupMembers(pgid).length === 0, `process group ${pgid} to be gone`, timeoutMs);
}
