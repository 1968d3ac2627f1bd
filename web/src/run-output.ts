/**
 * `useRunOutput(runId)`: a run and its output, live while it runs. An active run is followed
 * over the run socket from byte 0 (stored output first, then live); an ended run's output comes
 * from `GET /api/runs/{id}/output` in one request. Re-renders are throttled so a flood of output
 * costs a few renders a second, not one per frame.
 *
 * Elapsed-time marks: while following, the output line reached at each 30 s step of the run is
 * remembered, so the viewer can show "+1:30" markers in long runs.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunView } from '@rexec/shared';
import { getRun, runOutput } from './api.js';
import { RunFollower, type FollowState } from './run-socket.js';

export const MARK_EVERY_S = 30;

export interface OutputMark {
  /** Lines (newlines) before the mark. */
  line: number;
  seconds: number;
}

export interface RunOutput {
  run: RunView | null;
  /** Raw output so far (ANSI and all), decoded as UTF-8. */
  raw: string;
  /** Bumps whenever `raw` or `run` changed. */
  version: number;
  follow: FollowState | 'stored' | 'idle';
  detail: string | undefined;
  marks: OutputMark[];
  error: unknown;
}

const THROTTLE_MS = 120;

function isActive(run: RunView): boolean {
  return run.status === 'queued' || run.status === 'running';
}

export function useRunOutput(runId: string | null, initial?: RunView | null): RunOutput {
  const [, setTick] = useState(0);
  const st = useRef<RunOutput>({ run: null, raw: '', version: 0, follow: 'idle', detail: undefined, marks: [], error: null });

  useEffect(() => {
    st.current = { run: initial && initial.id === runId ? initial : null, raw: '', version: 0, follow: runId ? 'connecting' : 'idle', detail: undefined, marks: [], error: null };
    setTick((n) => n + 1);
    if (!runId) return;
    let disposed = false;
    let follower: RunFollower | null = null;
    let timer = 0;
    let lines = 0;
    let lastBucket = 0;
    const decoder = new TextDecoder();
    const bump = (now = false) => {
      st.current = { ...st.current, version: st.current.version + 1 };
      if (now) {
        window.clearTimeout(timer);
        timer = 0;
        setTick((n) => n + 1);
      } else if (!timer) {
        timer = window.setTimeout(() => {
          timer = 0;
          if (!disposed) setTick((n) => n + 1);
        }, THROTTLE_MS);
      }
    };
    const follow = () => {
      follower = new RunFollower(runId, {
        run(run) {
          st.current.run = run;
          bump(true);
        },
        output(data) {
          const text = decoder.decode(data, { stream: true });
          const run = st.current.run;
          if (run?.startedAt) {
            const bucket = Math.floor((Date.now() - Date.parse(run.startedAt)) / 1000 / MARK_EVERY_S);
            if (bucket > lastBucket) {
              lastBucket = bucket;
              st.current.marks = [...st.current.marks, { line: lines, seconds: bucket * MARK_EVERY_S }];
            }
          }
          for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
          st.current.raw += text;
          bump();
        },
        state(s, detail) {
          st.current.follow = s;
          st.current.detail = detail;
          if (s === 'ended') st.current.raw += decoder.decode();
          bump(true);
        },
      });
    };
    const start = async () => {
      try {
        const run = st.current.run ?? (await getRun(runId));
        if (disposed) return;
        st.current.run = run;
        if (isActive(run)) return follow();
        const out = await runOutput(runId);
        if (disposed) return;
        st.current.raw = out.rawOutput;
        st.current.follow = 'stored';
        bump(true);
      } catch (err) {
        if (disposed) return;
        st.current.error = err;
        st.current.follow = 'error';
        bump(true);
      }
    };
    void start();
    return () => {
      disposed = true;
      window.clearTimeout(timer);
      follower?.dispose();
    };
  }, [runId]);

  return st.current;
}
