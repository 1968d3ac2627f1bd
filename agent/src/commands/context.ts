/** What commands get from the outside world, so tests can run them in-process. */
import { homedir } from 'node:os';
import type { FetchLike } from '../relay-api.js';
import { resolveConfigPath } from '../paths.js';

export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  isRoot: boolean;
  homedir: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** How to run this CLI again (for `start --daemon`): program and leading arguments. */
  self: { command: string; args: string[] };
  fetch?: FetchLike;
}

export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    homedir: homedir(),
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    self: { command: process.execPath, args: [...process.execArgv, process.argv[1] ?? ''] },
  };
}

/** A failure to report as `rexec-agent: <message>` with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface GlobalOptions {
  config?: string;
}

export function configPathFor(globals: GlobalOptions, ctx: CliContext): string {
  return resolveConfigPath(globals.config, ctx);
}
