/**
 * The `rexec` CLI's saved login: ~/.rexec/cli.json (mode 0600), or REXEC_CLI_CONFIG.
 * REXEC_HOST and REXEC_TOKEN override the saved values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const fileSchema = z.object({ host: z.string().url(), token: z.string().min(1) });
export type CliConfig = z.infer<typeof fileSchema>;

export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.REXEC_CLI_CONFIG || path.join(os.homedir(), '.rexec', 'cli.json');
}

export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig | null {
  let saved: Partial<CliConfig> = {};
  const file = cliConfigPath(env);
  if (fs.existsSync(file)) {
    const r = fileSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!r.success) throw new Error(`${file} is not a valid rexec login; run \`rexec login\` again`);
    saved = r.data;
  }
  const host = env.REXEC_HOST || env.REXEC_API || saved.host;
  const token = env.REXEC_TOKEN || saved.token;
  return host && token ? { host, token } : null;
}

export function saveCliConfig(cfg: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = cliConfigPath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}
