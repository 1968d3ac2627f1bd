/** `rexec-agent refresh-token`: rotate the agent credential. */
import { relayFetch } from '../tls-fetch.js';
import { loadRegistration, readConfig, updateConfig } from '../config.js';
import { runningPid } from '../daemon.js';
import { runtimePaths } from '../paths.js';
import { rotateCredential } from '../relay-api.js';
import { CliError, configPathFor, type CliContext, type GlobalOptions } from './context.js';

export async function refreshTokenCommand(_opts: object, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const configPath = configPathFor(globals, ctx);
  const { registration: reg, overrides } = loadRegistration(configPath, ctx.env);
  const rotated = await rotateCredential(reg.api_url, reg.agent_id, reg.token, relayFetch(reg, ctx));
  if (rotated.agentId !== reg.agent_id) {
    throw new CliError(`the relay rotated the credential of agent ${rotated.agentId}, not ${reg.agent_id}; config left unchanged`);
  }
  if (!readConfig(configPath)) throw new CliError(`config file ${configPath} vanished; the new credential is lost, run "rexec-agent refresh-token" again`);
  updateConfig(configPath, { token: rotated.credential });
  ctx.stdout(`new credential for agent ${reg.agent_id} written to ${configPath}; the old one no longer works\n`);
  if (overrides.applied.includes('REXEC_TOKEN')) {
    ctx.stderr('rexec-agent: warning: REXEC_TOKEN is set and overrides the config file; update or unset it\n');
  }
  if (runningPid(runtimePaths(configPath)) !== null) {
    ctx.stdout('the running agent keeps its current link and uses the new credential when it reconnects\n');
  }
  return 0;
}
