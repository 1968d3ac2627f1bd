/**
 * One follower of a run: `/ws/runs/{id}?offset=N`. Sends `{type:'run', run}` first and on every
 * status change, the output from byte N on as RunStdout/RunStderr frames (stored chunks, then
 * what is pending, then live, de-duplicated by offset; an ended run's stored chunks), and closes with CloseCode.RunEnded once
 * the run has ended. The socket only listens: client messages are ignored. A reader that falls
 * more than MAX_BUFFERED behind is closed with CloseCode.TooSlow and may resume with ?offset=.
 */
import type { WebSocket } from 'ws';
import { CloseCode, encodeFrame, FrameKind, LIMITS, takeNewBytes, type RunSocketEvent, type RunView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { RunEngine, RunWatcher } from '../runs/run-engine.js';
import { readChunks, type Chunk, type Stream } from '../runs/run-output.js';
import { isActive } from '../runs/run-view.js';
import { log } from '../log.js';

const MAX_BUFFERED = 16 * 1024 * 1024;

export function followRun(ws: WebSocket, runId: string, offset: number, engine: RunEngine, prisma: PrismaClient): void {
  let have = offset;
  let ready = false;
  let closed = false;
  const early: (() => void)[] = [];

  const sendJson = (ev: RunSocketEvent) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(ev));
  const close = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    unwatch();
    const bye = () => ws.readyState === ws.OPEN && ws.close(code, reason);
    // Let queued output drain before the close frame.
    const wait = () => (ws.bufferedAmount > 0 && ws.readyState === ws.OPEN ? setTimeout(wait, 20) : bye());
    wait();
  };
  const sendOutput = (stream: Stream, at: number, data: Uint8Array) => {
    if (closed) return;
    const take = takeNewBytes(have, at, data);
    if (!take) return;
    const kind = stream === 'stderr' ? FrameKind.RunStderr : FrameKind.RunStdout;
    let pos = take.end - take.fresh.length;
    for (let i = 0; i < take.fresh.length; i += LIMITS.maxFramePayloadBytes) {
      const piece = take.fresh.subarray(i, i + LIMITS.maxFramePayloadBytes);
      if (ws.readyState === ws.OPEN) ws.send(encodeFrame(kind, runId, pos, piece));
      pos += piece.length;
    }
    have = take.end;
    if (ws.bufferedAmount > MAX_BUFFERED) close(CloseCode.TooSlow, 'reader too slow; reconnect with ?offset= to resume');
  };
  const onUpdate = (run: RunView) => {
    sendJson({ type: 'run', run });
    if (!isActive(run.status)) close(CloseCode.RunEnded, `run ${run.status}`);
  };
  const watcher: RunWatcher = {
    output: (stream, at, data) => (ready ? sendOutput(stream, at, data) : early.push(() => sendOutput(stream, at, data))),
    update: (run) => (ready ? onUpdate(run) : early.push(() => onUpdate(run))),
  };
  const { pending, unwatch } = engine.watch(runId, watcher);
  ws.on('close', () => {
    closed = true;
    unwatch();
  });
  ws.on('error', (err) => log.debug('run socket error', { err: err.message }));

  void (async () => {
    const run = await engine.view(runId);
    if (!run) return close(CloseCode.Normal, 'no such run');
    sendJson({ type: 'run', run });
    const stored: Chunk[] = await readChunks(prisma, runId, offset);
    for (const c of [...stored, ...pending]) sendOutput(c.stream, c.offset, c.data);
    // Output and updates that arrived while the run and its chunks were read, in order. A run
    // that ended meanwhile may have its last output only here (not flushed to the database yet):
    // send it before closing, never drop it.
    ready = true;
    for (const f of early.splice(0)) f();
    if (!isActive(run.status)) close(CloseCode.RunEnded, `run ${run.status}`);
  })().catch((err) => {
    log.error('run socket failed', { run: runId, err: (err as Error).message });
    close(CloseCode.InternalError, 'internal error');
  });
}
