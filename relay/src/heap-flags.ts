/**
 * V8 heap settings for the relay process. The bin script imports this module first and
 * loads the CLI after it, so the settings apply before express, Prisma and the rest load (set from
 * a module of the CLI's own import graph, they came too late: loading the graph had grown the
 * young generation already).
 *
 * The young generation stays at its initial size (1 MiB semi-spaces) instead of growing to 16 MiB
 * semi-spaces. What the relay allocates per terminal frame or request dies young, so a small
 * nursery costs no measurable throughput. The new space is 2 MiB after start-up instead of 32,
 * and in `npm run bench` the relay's peak was 129 to 135 MiB instead of 173 to 176 in alternating
 * runs (docs/benchmarks.md). The agent's session
 * hosts get the same with `--max-semi-space-size=1` on their command line; the relay is started by
 * many launchers (systemd, npm start, containers, `node bin/rexec-relay.js`), so it sets the growth
 * factor itself: V8 reads it each time the young generation would grow. The agent does the same
 * (agent/src/heap-flags.ts).
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--semi-space-growth-factor=1');
