/** The commander program: every command, option and its help text. */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from './config.js';
import { AlreadyRunningError } from './daemon.js';
import { LOG_LEVELS } from './logger.js';
import { RelayApiError } from './relay-api.js';
import { AGENT_VERSION } from './version.js';
import { CliError, processContext, type CliContext, type GlobalOptions } from './commands/context.js';
import { refreshTokenCommand } from './commands/refresh-token.js';
import { registerCommand } from './commands/register.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { stopCommand } from './commands/stop.js';
import { unregisterCommand } from './commands/unregister.js';

const CONFIG_HELP =
  'config file (env REXEC_CONFIG; default /etc/rexec/agent.yaml as root, ~/.rexec/agent.json otherwise; .yaml/.yml is YAML, else JSON)';

export function buildProgram(ctx: CliContext, setExitCode: (code: number) => void): Command {
  const program = new Command('rexec-agent')
    .description('Connects this server to a Rexec relay (outbound WebSocket) and serves terminals and commands.')
    .version(AGENT_VERSION, '-V, --version', 'print the agent version')
    .option('-c, --config <path>', CONFIG_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr })
    .exitOverride();

  type Action<O> = (opts: O, globals: GlobalOptions, ctx: CliContext) => Promise<number>;
  const run =
    <O>(action: Action<O>) =>
    async (opts: O, cmd: Command) => {
      setExitCode(await action(opts, cmd.optsWithGlobals<GlobalOptions>(), ctx));
    };

  program
    .command('register')
    .description('register this server with a relay and store the agent credential in the config file')
    .option('-n, --name <name>', 'agent name (default: this host name)')
    .option('-d, --description <text>', 'free-text description')
    .option('-s, --shell <path>', 'shell for terminals and command execs (default: $SHELL or /bin/bash)')
    .option('-t, --tags <list>', 'comma-separated tags, e.g. "prod,db"')
    .option('--working-dir <dir>', 'start directory for terminals, execs and runs (default: $HOME)')
    .option(
      '--allowed-root <dir>',
      'a directory runs may work in; repeat for more (default: the working dir, else $HOME; env REXEC_AGENT_ALLOWED_ROOTS)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--token <token>', 'single-use enrollment token (rxe_..., from "Add agent" or POST /api/enrollment-tokens) or an API token (rxt_...); env REXEC_TOKEN')
    .option('--host <url>', 'relay URL, e.g. https://relay.example.com; env REXEC_HOST or REXEC_API')
    .option('--ca-file <pem>', "trust this CA for the relay's certificate (stored as ca_file; env REXEC_AGENT_CA_FILE)")
    .option('-f, --force', 'replace an existing registration in the config file')
    .addHelpText('after', '\nThe stored credential is a per-agent secret issued by the relay, not the API token.')
    .action(run(registerCommand));

  program
    .command('start')
    .description('connect to the relay and serve (foreground, logs to stdout; --daemon for background)')
    .option('--daemon', 'run in the background: log to the log file next to the config, write a pid file')
    .option('--max-sessions <n>', 'terminal sessions served at once (1-64)', '32')
    .option('--metrics-interval <seconds>', 'seconds between host-metrics reports to the relay, 0 = off (default 10; env REXEC_AGENT_METRICS_INTERVAL, config metrics_interval)')
    .addOption(new Option('--log-level <level>', 'log detail').choices([...LOG_LEVELS]).default('info'))
    .option('--wait <seconds>', 'with --daemon: how long to wait for the first connection', '5')
    .addHelpText(
      'after',
      '\nEnvironment: REXEC_TOKEN (agent credential) and REXEC_HOST / REXEC_API override the config file;\n' +
        'REXEC_AGENT_RECONNECT_BASE_MS (default 500) and REXEC_AGENT_RECONNECT_CAP_MS (default 30000) tune reconnect backoff;\n' +
        'REXEC_AGENT_ALLOWED_ROOTS (colon-separated) and REXEC_AGENT_MAX_RUNS (default 16) override allowed_roots and max_runs;\n' +
        'REXEC_AGENT_METRICS_INTERVAL (seconds, 0 = off, default 10) overrides metrics_interval.\n' +
        'REXEC_AGENT_RING_BYTES (default 1 MiB) is the output each terminal session keeps for resume and snapshots; REXEC_AGENT_SESSION_HOSTS=0 keeps\n' +
        'terminal sessions in the agent process (they then end with it). Sessions otherwise live in session hosts (state dir <config>.sessions/).\n' +
        'Exit codes: 0 stopped by signal, 1 error, 2 rejected by the relay (bad credential, agent deleted).',
    )
    .action(run(startCommand));

  program
    .command('stop')
    .description('stop the running agent (SIGTERM, then wait for it to exit); terminal sessions keep running in their session hosts')
    .option('--timeout <seconds>', 'how long to wait for the agent to exit', '10')
    .action(run(stopCommand));

  program
    .command('status')
    .description('show registration, whether the agent runs, and whether it is connected')
    .option('--json', 'print machine-readable JSON')
    .action(run(statusCommand));

  program
    .command('unregister')
    .description('stop the agent, end its terminal sessions, delete it on the relay, and remove the local registration')
    .option('--keep-config', 'keep the config file (name, shell, tags, ...) and remove only the agent id and credential')
    .option('-f, --force', 'remove the local registration even when the relay cannot be reached')
    .action(run(unregisterCommand));

  program
    .command('refresh-token')
    .description('rotate the agent credential; a running agent uses the new one on its next reconnect')
    .action(run(refreshTokenCommand));

  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit. */
export async function runCli(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  let code = 0;
  const program = buildProgram(ctx, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander printed the message or help
    const known = err instanceof CliError || err instanceof ConfigError || err instanceof RelayApiError || err instanceof AlreadyRunningError;
    ctx.stderr(`rexec-agent: ${(err as Error).message ?? String(err)}\n`);
    if (!known && ctx.env.REXEC_AGENT_DEBUG) ctx.stderr(`${(err as Error).stack}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
