/** `rexec`: the user CLI. Log in once with an API token, then list agents and run commands. */
import os from 'node:os';
import { Command } from 'commander';
import type { AgentView, MeResponse, NudgeResponse, SessionRecent, SessionView } from '@rexec/shared';
import { RESTORE_LOCAL_TERMINAL, attachSession, type SessionEnd } from './terminal-session.js';
import { ApiClient, ApiError } from './api-client.js';
import { loadCliConfig, saveCliConfig } from './cli-config.js';
import { ago, client, EXIT, fail, table } from './cli-util.js';
import { addRunnerCommands } from './runner-commands.js';
import { addScheduleCommands } from './schedule-commands.js';
import { RELAY_VERSION } from '../version.js';

export function buildCliProgram(): Command {
  const program = new Command('rexec').description('Reach your servers through a Rexec relay.').version(RELAY_VERSION).showHelpAfterError();

  program
    .command('login')
    .description('Check an API token against a relay and save both to ~/.rexec/cli.json (0600)')
    .requiredOption('--host <url>', 'relay URL, e.g. https://relay.example.com')
    .requiredOption('--token <token>', 'API token (create one with `rexec-relay token create`)')
    .action(async (opts) => {
      let host: string;
      try {
        host = new URL(opts.host).origin;
      } catch {
        fail(`--host is not a URL: ${opts.host}`, EXIT.usage);
      }
      try {
        const me = await new ApiClient(host, opts.token).json<MeResponse>('GET', '/api/auth/me');
        const file = saveCliConfig({ host, token: opts.token });
        console.log(`Logged in to ${host} as ${me.user.username} (${me.user.role}); saved to ${file}`);
      } catch (err) {
        fail(err instanceof ApiError && err.status === 401 ? 'the relay rejected this token (wrong, expired or revoked)' : (err as Error).message);
      }
    });

  program
    .command('agents')
    .description('List agents with status, tags and last-seen time')
    .option('--tag <tag>', 'only agents with this tag')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      try {
        const q = opts.tag ? `?tag=${encodeURIComponent(opts.tag)}` : '';
        const { agents } = await client().json<{ agents: AgentView[] }>('GET', `/api/agents${q}`);
        if (opts.json) return console.log(JSON.stringify(agents, null, 2));
        if (!agents.length) return console.log('no agents registered');
        console.log(
          table(
            ['NAME', 'STATUS', 'TAGS', 'OS', 'ARCH', 'LAST SEEN'],
            agents.map((a) => [a.name, a.status, a.tags.join(',') || '-', a.os || '-', a.arch || '-', a.status === 'online' ? 'now' : ago(a.lastSeenAt)]),
          ),
        );
      } catch (err) {
        fail((err as Error).message);
      }
    });

  program
    .command('exec')
    .description('Run a command on an agent, stream its output, and exit with its exit code')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .option('-c, --cmd <text>', "shell text run with the agent's shell (instead of a command after --)")
    .option('-t, --timeout <seconds>', 'kill the command (its whole process group) after this long', '600')
    .option('--cwd <dir>', 'working directory on the agent')
    .argument('[command...]', 'program and arguments, after --, run without a shell')
    .addHelpText('after', `
Examples:
  rexec exec --agent web-1 -- uname -a
  rexec exec --agent web-1 --cmd "ls -la | head"

Exit status: the remote exit code; 128+N when killed by signal N; ${EXIT.timeout} on timeout;
${EXIT.error} when the command could not run (agent offline, not found, relay error).`)
    .action(async (argv: string[], opts) => {
      if ((argv.length > 0) === Boolean(opts.cmd)) fail('give either a command after -- or --cmd "shell text", not both or neither', EXIT.usage);
      const timeoutSec = Number(opts.timeout);
      if (!(timeoutSec > 0)) fail('--timeout must be a positive number of seconds', EXIT.usage);
      const body = { ...(opts.cmd ? { command: opts.cmd } : { argv }), timeoutSec, ...(opts.cwd ? { cwd: opts.cwd } : {}) };
      const abort = new AbortController();
      process.on('SIGINT', () => abort.abort()); // closing the stream makes the relay kill the command
      try {
        for await (const ev of client().exec(opts.agent, body, abort.signal)) {
          if (ev.type === 'output') (ev.stream === 'stdout' ? process.stdout : process.stderr).write(Buffer.from(ev.data, 'base64'));
          else if (ev.type === 'error') fail(ev.message);
          else if (ev.type === 'exit') {
            if (ev.error) fail(ev.error);
            if (ev.timedOut) {
              process.stderr.write(`rexec: command timed out after ${timeoutSec}s and was killed\n`);
              process.exitCode = EXIT.timeout;
            } else if (ev.signal) {
              const n = os.constants.signals[ev.signal as keyof typeof os.constants.signals];
              process.stderr.write(`rexec: command killed by ${ev.signal}\n`);
              process.exitCode = 128 + (n ?? 0);
            } else process.exitCode = ev.exitCode ?? EXIT.error;
            if (ev.truncated) process.stderr.write('rexec: output was truncated by the agent\n');
            return;
          }
        }
        fail('the relay ended the stream without a result');
      } catch (err) {
        if (abort.signal.aborted) fail('interrupted', 130);
        fail((err as Error).message);
      }
    });

  program
    .command('sessions')
    .description('List the open terminal sessions of an agent (yours; admins see all)')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      try {
        const { sessions } = await client().json<{ sessions: SessionView[] }>('GET', `/api/agents/${encodeURIComponent(opts.agent)}/sessions`);
        if (opts.json) return console.log(JSON.stringify(sessions, null, 2));
        if (!sessions.length) return console.log('no open sessions');
        console.log(
          table(
            ['SESSION', 'OPENED BY', 'STARTED', 'SIZE', 'VIEWERS', 'STATE', 'LAST OUTPUT'],
            sessions.map((s) => [s.id, s.openedBy, ago(s.startedAt), `${s.cols}x${s.rows}`, String(s.viewers), s.live ? 'running' : 'agent offline', s.lastOutputAt ? ago(s.lastOutputAt) : '-']),
          ),
        );
      } catch (err) {
        fail((err as Error).message);
      }
    });

  /** Exits: 0 once detached; when the session ended, 0 or (`shellStatus`) with the shell's status. */
  const endWith = (end: SessionEnd, detachedText: string, shellStatus = false): never => {
    if (end.kind === 'error') fail(end.message);
    if (end.kind === 'detached') {
      process.stderr.write(`\r\n${detachedText}\n`);
      process.exit(0);
    }
    process.stderr.write(`\r\n[rexec: session ended${end.signal ? ` by ${end.signal}` : end.exitCode !== null ? ` (exit ${end.exitCode})` : ''}]\n`);
    if (!shellStatus) process.exit(0);
    // As ssh does: the shell's exit code, 128 + the signal's number if a signal ended it.
    const signal = end.signal ? os.constants.signals[end.signal as NodeJS.Signals] : undefined;
    process.exit(end.exitCode ?? (signal ? 128 + signal : 1));
  };
  const reattachHint = (sessionId: string, agent: string) => `[rexec: detached from ${sessionId}; it keeps running. rexec attach ${sessionId} --agent ${agent} to return]`;

  program
    .command('shell')
    .description("Open a new terminal on an agent at this terminal's size; Ctrl-] detaches and leaves it running. Exits with the shell's status")
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .action(async (opts) => {
      const c = loadCliConfig();
      if (!c) fail('not logged in: run `rexec login --host URL --token TOKEN`', EXIT.usage);
      let sessionId = '';
      const onStarted = (id: string) => {
        sessionId = id;
        process.stderr.write(`[rexec: session ${id} on ${opts.agent}; Ctrl-] detaches and leaves it running]\r\n`);
      };
      const end = await attachSession({ host: c.host, token: c.token, agent: opts.agent, out: process.stdout, input: process.stdin, onStarted });
      endWith(end, reattachHint(sessionId, opts.agent), true);
    });

  program
    .command('tail')
    .description("Follow a session's output read-only: its buffer first, then live (Ctrl-C stops)")
    .argument('<session>', 'session id (see `rexec sessions`)')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .action(async (sessionId: string, opts) => {
      const c = loadCliConfig();
      if (!c) fail('not logged in: run `rexec login --host URL --token TOKEN`', EXIT.usage);
      process.on('SIGINT', () => {
        if (process.stdout.isTTY) process.stdout.write(RESTORE_LOCAL_TERMINAL);
        process.exit(0);
      });
      endWith(await attachSession({ host: c.host, token: c.token, agent: opts.agent, sessionId, out: process.stdout }), '');
    });

  program
    .command('attach')
    .description('Join a session interactively (starting from a snapshot of its screen); Ctrl-] detaches and leaves it running')
    .argument('<session>', 'session id (see `rexec sessions`)')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .action(async (sessionId: string, opts) => {
      const c = loadCliConfig();
      if (!c) fail('not logged in: run `rexec login --host URL --token TOKEN`', EXIT.usage);
      const end = await attachSession({ host: c.host, token: c.token, agent: opts.agent, sessionId, out: process.stdout, input: process.stdin, snapshot: true });
      endWith(end, reattachHint(sessionId, opts.agent));
    });

  program
    .command('recent')
    .description('Print the most recent output of a session and how long it has been quiet')
    .argument('<session>', 'session id (see `rexec sessions`)')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .option('-b, --bytes <n>', 'how many bytes of output (1-65536)', '4096')
    .option('--json', 'print JSON { text, outputBytes, idleMs }')
    .action(async (sessionId: string, opts) => {
      try {
        const r = await client().json<SessionRecent>('GET', `/api/agents/${encodeURIComponent(opts.agent)}/sessions/${encodeURIComponent(sessionId)}/recent?bytes=${encodeURIComponent(opts.bytes)}`);
        if (opts.json) return console.log(JSON.stringify(r));
        process.stdout.write(r.text);
        process.stderr.write(`\n[rexec: quiet for ${(r.idleMs / 1000).toFixed(1)}s; ${r.outputBytes} bytes of output so far]\n`);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  program
    .command('nudge')
    .description('Type a message into a session, at once or once it has been quiet (exit 0 delivered, 1 not)')
    .argument('<session>', 'session id (see `rexec sessions`)')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .requiredOption('-m, --text <text>', 'what to type')
    .option('--enter', 'press Enter after the text')
    .option('--when-idle <seconds>', 'deliver only after this many seconds without output', '0')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .action(async (sessionId: string, opts) => {
      const whenIdleSec = Number(opts.whenIdle);
      const timeoutSec = Number(opts.timeout);
      if (!(whenIdleSec >= 0) || !(timeoutSec > 0)) fail('--when-idle must be >= 0 and --timeout > 0 seconds', EXIT.usage);
      try {
        const r = await client().json<NudgeResponse>('POST', `/api/agents/${encodeURIComponent(opts.agent)}/sessions/${encodeURIComponent(sessionId)}/nudge`, {
          text: opts.text + (opts.enter ? '\r' : ''),
          whenIdleSec,
          timeoutSec,
        });
        const what = r.status === 'delivered' ? `delivered (session had been quiet ${((r.idleMs ?? 0) / 1000).toFixed(1)}s)` : r.status === 'timed_out' ? `timed out: the session never went quiet for ${whenIdleSec}s` : 'not delivered: the session is not running';
        console.log(what);
        process.exitCode = r.status === 'delivered' ? 0 : 1;
      } catch (err) {
        fail((err as Error).message);
      }
    });

  addRunnerCommands(program);
  addScheduleCommands(program);

  program
    .command('logout')
    .description('Forget the saved login')
    .action(async () => {
      const { cliConfigPath } = await import('./cli-config.js');
      const fs = await import('node:fs');
      fs.rmSync(cliConfigPath(), { force: true });
      console.log('logged out');
    });
  return program;
}

await buildCliProgram().parseAsync(process.argv);
