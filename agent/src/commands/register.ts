/** `rexec-agent register`: enrol this server with a relay and store the agent credential. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatZodIssues, registerAgentRequestSchema, TOKEN_PREFIX } from '@rexec/shared';
import { isRegistered, normalizeApiUrl, readConfig, writeConfig, type AgentConfig } from '../config.js';
import { runningPid } from '../daemon.js';
import { defaultShell, hostFacts } from '../host-info.js';
import { defaultConfigPath, runtimePaths } from '../paths.js';
import { registerAgent } from '../relay-api.js';
import { caFileSetting, fetchTrusting, loadCa } from '../tls.js';
import { CliError, configPathFor, type CliContext, type GlobalOptions } from './context.js';

export interface RegisterOptions {
  name?: string;
  description?: string;
  shell?: string;
  tags?: string;
  token?: string;
  host?: string;
  workingDir?: string;
  /** --allowed-root, repeatable. */
  allowedRoot?: string[];
  force?: boolean;
  caFile?: string;
}

export function parseTags(value: string | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((t) => t.trim()).filter(Boolean))];
}

export async function registerCommand(opts: RegisterOptions, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const configPath = configPathFor(globals, ctx);
  let existing: AgentConfig | null = null;
  try {
    existing = readConfig(configPath);
  } catch (err) {
    if (!opts.force) throw new CliError(`${(err as Error).message} (pass --force to replace it)`);
  }
  if (isRegistered(existing) && !opts.force) {
    throw new CliError(
      `already registered as "${existing.name ?? '?'}" (agent id ${existing.agent_id}) with ${existing.api_url}; ` +
        'run "rexec-agent unregister" first, or pass --force to register again (the old agent stays on the relay)',
    );
  }

  const hostRaw = opts.host || ctx.env.REXEC_HOST || ctx.env.REXEC_API || existing?.api_url;
  if (!hostRaw) throw new CliError('no relay URL: pass --host https://relay.example.com or set REXEC_HOST');
  let apiUrl: string;
  try {
    apiUrl = normalizeApiUrl(hostRaw);
  } catch (err) {
    throw new CliError(`relay URL ${(err as Error).message}`);
  }
  const apiToken = opts.token || ctx.env.REXEC_TOKEN;
  if (!apiToken) throw new CliError('no token: pass --token or set REXEC_TOKEN (an enrollment token rxe_... from "Add agent", or an API token rxt_...)');
  if (apiToken.startsWith(TOKEN_PREFIX.agentCredential)) {
    throw new CliError('the token is an agent credential (rxa_...); register needs an enrollment token (rxe_...) or an API token (rxt_...) of the relay');
  }

  const facts = hostFacts();
  const parsed = registerAgentRequestSchema.safeParse({
    name: opts.name ?? facts.hostname,
    description: opts.description ?? '',
    type: facts.type,
    hostname: facts.hostname,
    os: facts.os,
    arch: facts.arch,
    shell: opts.shell || defaultShell(ctx.env),
    tags: parseTags(opts.tags),
  });
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error).map((i) => `${i.path === 'name' ? '--name' : i.path}: ${i.message}`);
    throw new CliError(`invalid registration: ${issues.join('; ')}`);
  }
  const request = parsed.data;

  const caFile = opts.caFile ? resolve(ctx.cwd, opts.caFile) : caFileSetting(existing ?? {}, ctx.env);
  const ca = loadCa(caFile);
  const fetchImpl = ctx.fetch ?? (ca ? fetchTrusting(ca) : undefined);
  const { agent, credential } = await registerAgent(apiUrl, apiToken, request, fetchImpl ? { fetch: fetchImpl } : {});

  const next: AgentConfig = {
    ...(existing ?? {}),
    api_url: apiUrl,
    agent_id: agent.id,
    token: credential,
    name: agent.name,
    labels: request.tags,
    shell: request.shell,
    description: request.description,
  };
  if (opts.caFile) next.ca_file = caFile!;
  const workingDir = opts.workingDir ?? existing?.working_dir;
  if (workingDir) next.working_dir = workingDir;
  else delete next.working_dir;
  // Given roots replace the stored ones; without --allowed-root the file's list stays.
  const roots = opts.allowedRoot?.length ? [...new Set(opts.allowedRoot.map((r) => resolve(ctx.cwd, r)))] : existing?.allowed_roots;
  if (roots?.length) next.allowed_roots = roots;
  else delete next.allowed_roots;
  writeConfig(configPath, next);
  for (const root of opts.allowedRoot?.length ? (roots ?? []) : []) {
    if (!isDirectory(root)) ctx.stderr(`warning: allowed root ${root} is not an existing directory; the agent ignores it until it is\n`);
  }

  const configFlag = configPath === defaultConfigPath(ctx) && !ctx.env.REXEC_CONFIG ? '' : ` --config ${configPath}`;
  ctx.stdout(`registered agent "${agent.name}" (id ${agent.id}) with ${apiUrl}\n`);
  ctx.stdout(`config written to ${configPath} (mode 0600)\n`);
  if (runningPid(runtimePaths(configPath)) !== null) {
    ctx.stdout(`an agent is running with the old registration; restart it: rexec-agent${configFlag} stop && rexec-agent${configFlag} start --daemon\n`);
  } else {
    ctx.stdout(`start it with: rexec-agent${configFlag} start --daemon\n`);
  }
  return 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
