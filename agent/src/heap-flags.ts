/**
 * V8 heap settings for the agent process. The bin script imports this module first and
 * loads the CLI after it, so the settings apply before any other module loads (set from a module
 * of the CLI's own import graph, they came too late: loading the graph had grown the young
 * generation already).
 *
 * The young generation stays at its initial size instead of growing to 16 MiB semi-spaces: what
 * the agent allocates per frame dies young, so a small nursery costs no measurable throughput,
 * and the agent's process peaks at 99 to 101 MiB instead of 114 to 119 in a 3 x 64 MiB flood
 * (docs/benchmarks.md). Session hosts get the same with `--max-semi-space-size=1` on their command line
 * (host-client.ts); the agent itself is started by systemd, install-agent.sh, `npm start` or by
 * hand, so it sets the growth factor at run time: V8 reads it each time the young generation
 * would grow. The relay does the same (relay/src/heap-flags.ts).
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--semi-space-growth-factor=1');
