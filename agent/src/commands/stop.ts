/** `rexec-agent stop`. */
import { stopAgent } from '../daemon.js';
import { runtimePaths } from '../paths.js';
import { positiveInt } from './start.js';
import { CliError, configPathFor, type CliContext, type GlobalOptions } from './context.js';

export interface StopOptions {
  timeout?: string;
}

export async function stopCommand(opts: StopOptions, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const paths = runtimePaths(configPathFor(globals, ctx));
  const timeoutMs = positiveInt(opts.timeout ?? '10', '--timeout', 3600) * 1000;
  const r = await stopAgent(paths, timeoutMs);
  if (!r.wasRunning) {
    ctx.stdout(`the agent is not running (no live process in ${paths.pid})\n`);
    return 0;
  }
  if (!r.stopped) throw new CliError(`the agent (pid ${r.pid}) did not exit within ${timeoutMs / 1000} s; kill it with: kill -KILL ${r.pid}`);
  ctx.stdout(`agent stopped (pid ${r.pid})\n`);
  return 0;
}
