import { spawnPty } from '../../agent/dist/sessions/pty.js';
const p = spawnPty('/bin/sh', [], { cols: 80, rows: 24, cwd: '/tmp', env: process.env as any });
let on: (() => void) | null = null;
p.onData(() => on?.());
await new Promise((r) => setTimeout(r, 500));
p.write('cat\r');
await new Promise((r) => setTimeout(r, 300));
const xs: number[] = [];
for (let i = 0; i < 100; i++) {
  const t0 = performance.now();
  await new Promise<void>((r) => { on = () => { on = null; r(); }; p.write('x'); });
  xs.push(performance.now() - t0);
}
xs.sort((a, b) => a - b);
console.log('in-process echo p50', xs[50].toFixed(3), 'p95', xs[95].toFixed(3));
p.kill(); process.exit(0);
