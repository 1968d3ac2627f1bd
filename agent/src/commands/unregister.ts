/** `rexec-agent unregister`: stop, delete the agent on the relay, forget the registration. */
import { rmSync } from 'node:fs';
import { relayFetch } from '../tls-fetch.js';
import { loadRegistration, updateConfig } from '../config.js';
import { stopAgent } from '../daemon.js';
import { runtimePaths } from '../paths.js';
import { deleteAgent, RelayApiError } from '../relay-api.js';
import { removeState } from '../state-file.js';
import { endSessionHosts } from '../sessions/state-dir.js';
import { CliError, configPathFor, type CliContext, type GlobalOptions } from './context.js';

export interface UnregisterOptions {
  keepConfig?: boolean;
  force?: boolean;
}

export async function unregisterCommand(opts: UnregisterOptions, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const configPath = configPathFor(globals, ctx);
  const paths = runtimePaths(configPath);
  const { registration: reg } = loadRegistration(configPath, ctx.env);

  const stopped = await stopAgent(paths, 10_000);
  if (stopped.wasRunning) {
    if (!stopped.stopped) throw new CliError(`the agent (pid ${stopped.pid}) did not stop; stop it first`);
    ctx.stdout(`agent stopped (pid ${stopped.pid})\n`);
  }
  // Terminal sessions outlive the agent process in their session hosts; unregistering ends them.
  const ended = await endSessionHosts(paths.sessions);
  if (ended) ctx.stdout(`${ended} terminal session${ended === 1 ? '' : 's'} ended\n`);

  try {
    await deleteAgent(reg.api_url, reg.agent_id, reg.token, relayFetch(reg, ctx));
    ctx.stdout(`agent ${reg.agent_id} deleted on ${reg.api_url}\n`);
  } catch (err) {
    if (err instanceof RelayApiError && (err.status === 404 || err.status === 401)) {
      ctx.stderr(`rexec-agent: warning: the relay answered ${err.status} (${err.message}); removing the local registration anyway\n`);
    } else if (opts.force) {
      ctx.stderr(`rexec-agent: warning: ${(err as Error).message}; --force: removing the local registration anyway\n`);
    } else {
      throw new CliError(`${(err as Error).message}; nothing removed (pass --force to remove the local registration anyway)`);
    }
  }

  if (opts.keepConfig) {
    updateConfig(configPath, { agent_id: undefined, token: undefined });
    ctx.stdout(`registration removed from ${configPath}; other settings kept\n`);
  } else {
    rmSync(configPath, { force: true });
    ctx.stdout(`removed ${configPath}\n`);
  }
  removeState(paths.state);
  return 0;
}
