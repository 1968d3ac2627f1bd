/**
 * `rexec profiles|prompts|runs|run`: the agent runner from the command line.
 *
 * `rexec run --follow` exits with the run's own exit code when it completed or failed, 124 when
 * it timed out, 137 when it was killed, 255 when it was lost or could not be followed.
 */
import type { Command } from 'commander';
import type { DryRunResponse, ProfileView, PromptView, RunView, ValidateTemplateResponse } from '@rexec/shared';
import { ago, client, collect, EXIT, fail, guarded, loginOrFail, pairs, table } from './cli-util.js';
import { followRun } from './follow-run.js';

const enc = encodeURIComponent;

function minutes(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) fail(`${flag} must be a positive number of minutes`, EXIT.usage);
  return n;
}

function duration(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** Exit code for a finished run (see the header). */
export function runExitCode(run: RunView): number {
  switch (run.status) {
    case 'completed':
      return 0;
    case 'failed':
      return run.exitCode ?? 1;
    case 'timeout':
      return EXIT.timeout;
    case 'killed':
      return EXIT.killed;
    default:
      return EXIT.error;
  }
}

function describeEnd(run: RunView): string {
  const bits = [`run ${run.id} ${run.status}`];
  if (run.exitCode !== null) bits.push(`exit ${run.exitCode}`);
  if (run.signal) bits.push(run.signal);
  if (run.durationSeconds !== null) bits.push(duration(run.durationSeconds));
  if (run.truncated) bits.push('output truncated');
  return `[rexec: ${bits.join(', ')}${run.statusReason ? `: ${run.statusReason}` : ''}]`;
}

function printChecks(checks: ValidateTemplateResponse['checks']): void {
  for (const c of checks) console.log(`${c.ok ? 'ok  ' : c.severity === 'error' ? 'FAIL' : 'warn'}  ${c.id.padEnd(22)} ${c.message}`);
}

async function follow(run: RunView): Promise<never> {
  const { host, token } = loginOrFail();
  const final = await followRun({ host, token, runId: run.id, out: process.stdout, err: process.stderr });
  process.stderr.write(`\n${describeEnd(final)}\n`);
  process.exit(runExitCode(final));
}

export function addRunnerCommands(program: Command): void {
  // ---- profiles ----------------------------------------------------------------------------
  const profiles = program.command('profiles').description('Agent profiles: how an AI coding CLI (or any command) is invoked');
  profiles
    .command('list')
    .description('List profiles')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const page = await client().json<{ items: ProfileView[] }>('GET', '/api/profiles?limit=500');
        if (opts.json) return console.log(JSON.stringify(page.items, null, 2));
        if (!page.items.length) return console.log('no profiles');
        console.log(table(['SLUG', 'NAME', 'TYPE', 'ENABLED', 'TIMEOUT', 'TEMPLATE'], page.items.map((p) => [p.slug, p.name, p.agentType, p.enabled ? 'yes' : 'no', `${p.defaultTimeout}/${p.maxTimeout}m`, p.invocationTemplate.slice(0, 60)])));
      }),
    );
  profiles
    .command('show')
    .description('Show one profile (secret variables are never shown)')
    .argument('<profile>', 'id or slug')
    .option('--json', 'print JSON')
    .action(
      guarded(async (ref: string, opts) => {
        const { profile: p } = await client().json<{ profile: ProfileView }>('GET', `/api/profiles/${enc(ref)}`);
        if (opts.json) return console.log(JSON.stringify(p, null, 2));
        console.log(`${p.name} (${p.slug}, ${p.agentType})${p.enabled ? '' : ' [disabled]'}${p.builtIn ? ' [built-in]' : ''}`);
        console.log(`template: ${p.invocationTemplate}`);
        console.log(`timeout:  ${p.defaultTimeout} min (max ${p.maxTimeout})   shell: ${p.shell || "agent's"}   pty: ${p.pty ? 'yes' : 'no'}`);
        for (const e of p.env) console.log(`env:      ${e.name}=${e.secret ? '<secret>' : e.value}`);
      }),
    );
  profiles
    .command('create')
    .description('Create a profile; the template is validated first')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--type <agentType>', 'claude-code, codex, opencode, gemini-cli, aider or custom')
    .requiredOption('--template <text>', 'invocation template; reads $PROMPT and $WORKING_DIR, e.g. \'claude -p "$PROMPT"\'')
    .option('--slug <slug>', 'unique short name (default: from the name)')
    .option('--default-timeout <min>', 'default timeout in minutes', '30')
    .option('--max-timeout <min>', 'largest timeout a run may ask for, minutes', '120')
    .option('--shell <path>', "shell that runs the template (default: the agent's)")
    .option('--pty', 'run under a pseudo-terminal')
    .option('--env <NAME=VALUE>', 'extra variable (repeatable)', collect)
    .option('--secret <NAME=VALUE>', 'secret variable, stored encrypted and never shown (repeatable)', collect)
    .option('--disabled', 'create it disabled')
    .option('--acknowledge-dangerous', 'save even though the template matches a dangerous pattern')
    .action(
      guarded(async (opts) => {
        const env = [
          ...Object.entries(pairs(opts.env)).map(([name, value]) => ({ name, value, secret: false })),
          ...Object.entries(pairs(opts.secret)).map(([name, value]) => ({ name, value, secret: true })),
        ];
        const r = await client().json<{ profile: ProfileView; checks: ValidateTemplateResponse['checks'] }>('POST', '/api/profiles', {
          name: opts.name,
          agentType: opts.type,
          invocationTemplate: opts.template,
          ...(opts.slug ? { slug: opts.slug } : {}),
          defaultTimeout: minutes(opts.defaultTimeout, '--default-timeout'),
          maxTimeout: minutes(opts.maxTimeout, '--max-timeout'),
          ...(opts.shell ? { shell: opts.shell } : {}),
          pty: Boolean(opts.pty),
          env,
          enabled: !opts.disabled,
          acknowledgeDangerous: Boolean(opts.acknowledgeDangerous),
        });
        console.log(`created profile ${r.profile.slug} (${r.profile.id})`);
        for (const c of r.checks) if (!c.ok) console.log(`warning: ${c.message}`);
      }),
    );
  profiles
    .command('delete')
    .description('Delete a profile (refused while it has queued or running runs)')
    .argument('<profile>', 'id or slug')
    .action(
      guarded(async (ref: string) => {
        await client().json('DELETE', `/api/profiles/${enc(ref)}`);
        console.log(`deleted profile ${ref}`);
      }),
    );
  profiles
    .command('validate')
    .description("Check a profile's template (or --template text): $PROMPT used, quoting, bash -n, dangerous patterns")
    .argument('[profile]', 'id or slug')
    .option('--template <text>', 'check this text instead of a saved profile')
    .action(
      guarded(async (ref: string | undefined, opts) => {
        if (!ref === !opts.template) fail('give a profile or --template, not both or neither', EXIT.usage);
        const r = ref
          ? await client().json<ValidateTemplateResponse>('POST', `/api/profiles/${enc(ref)}/validate`, {})
          : await client().json<ValidateTemplateResponse>('POST', '/api/profiles/validate', { invocationTemplate: opts.template });
        printChecks(r.checks);
        process.exitCode = r.valid ? 0 : 1;
      }),
    );
  profiles
    .command('test')
    .description('Run the profile with a harmless prompt ("echo test") on an agent and show the result')
    .argument('<profile>', 'id or slug')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .option('--prompt <text>', 'prompt to use', 'echo test')
    .action(
      guarded(async (ref: string, opts) => {
        const r = await client().json<{ run: RunView; output: string; stderr: string; ok: boolean }>('POST', `/api/profiles/${enc(ref)}/test`, { agent: opts.agent, prompt: opts.prompt });
        process.stdout.write(r.output);
        if (r.stderr) process.stderr.write(r.stderr);
        console.log(describeEnd(r.run));
        process.exitCode = r.ok ? 0 : 1;
      }),
    );

  // ---- prompts -----------------------------------------------------------------------------
  const prompts = program.command('prompts').description('Saved prompts');
  prompts
    .command('list')
    .description('List saved prompts')
    .option('--tag <tag>', 'only prompts with this tag')
    .option('--profile <profile>', 'only prompts of this profile (id or slug)')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const q = new URLSearchParams({ limit: '500', ...(opts.tag ? { tag: opts.tag } : {}), ...(opts.profile ? { profile: opts.profile } : {}) });
        const page = await client().json<{ items: PromptView[] }>('GET', `/api/prompts?${q}`);
        if (opts.json) return console.log(JSON.stringify(page.items, null, 2));
        if (!page.items.length) return console.log('no prompts');
        console.log(table(['ID', 'NAME', 'TYPE', 'DIR', 'TAGS', 'LAST RUN'], page.items.map((p) => [p.id, p.name, p.type, p.workingDirectory || '-', p.tags.join(',') || '-', p.lastRunStatus ? `${p.lastRunStatus} ${ago(p.lastRunAt)}` : '-'])));
      }),
    );
  prompts
    .command('show')
    .description('Show a prompt')
    .argument('<id>', 'prompt id')
    .option('--json', 'print JSON')
    .action(
      guarded(async (id: string, opts) => {
        const { prompt: p } = await client().json<{ prompt: PromptView }>('GET', `/api/prompts/${enc(id)}`);
        if (opts.json) return console.log(JSON.stringify(p, null, 2));
        console.log(`${p.name} (${p.type}${p.workingDirectory ? `, in ${p.workingDirectory}` : ''}${p.tags.length ? `, tags ${p.tags.join(',')}` : ''})`);
        console.log(p.content);
      }),
    );
  prompts
    .command('create')
    .description('Save a prompt')
    .requiredOption('--name <name>', 'display name')
    .option('--content <text>', 'prompt text (may use {{VARIABLE}} placeholders)')
    .option('--file-ref <@path>', 'a file on the agent to read at run time instead of text, e.g. @docs/task.md')
    .option('--profile <profile>', 'profile id or slug')
    .option('--dir <dir>', 'working directory on the agent')
    .option('--timeout <min>', 'timeout in minutes (default: the profile\'s)')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--var <NAME[=default]>', 'declare a variable, with an optional default (repeatable)', collect)
    .action(
      guarded(async (opts) => {
        if (!opts.content === !opts.fileRef) fail('give --content or --file-ref, not both or neither', EXIT.usage);
        const fileRef = opts.fileRef ? (opts.fileRef.startsWith('@') ? opts.fileRef : `@${opts.fileRef}`) : null;
        const variables = ((opts.var as string[] | undefined) ?? []).map((v) => {
          const eq = v.indexOf('=');
          return eq < 0 ? { name: v } : { name: v.slice(0, eq), default: v.slice(eq + 1) };
        });
        const r = await client().json<{ prompt: PromptView }>('POST', '/api/prompts', {
          name: opts.name,
          content: fileRef ?? opts.content,
          type: fileRef ? 'file-reference' : 'inline',
          ...(opts.profile ? { agentProfileId: opts.profile } : {}),
          ...(opts.dir ? { workingDirectory: opts.dir } : {}),
          ...(opts.timeout ? { timeout: minutes(opts.timeout, '--timeout') } : {}),
          tags: opts.tag ?? [],
          variables,
        });
        console.log(`saved prompt ${r.prompt.id}`);
      }),
    );
  prompts
    .command('delete')
    .description('Delete a saved prompt (its runs stay in the history)')
    .argument('<id>', 'prompt id')
    .action(
      guarded(async (id: string) => {
        await client().json('DELETE', `/api/prompts/${enc(id)}`);
        console.log(`deleted prompt ${id}`);
      }),
    );

  // ---- runs --------------------------------------------------------------------------------
  program
    .command('run')
    .description('Run a prompt with a profile on an agent')
    .requiredOption('-a, --agent <name>', 'agent name or id')
    .option('-p, --profile <profile>', "profile id or slug (default: the saved prompt's)")
    .option('--prompt <text>', 'prompt text')
    .option('--prompt-id <id>', 'a saved prompt')
    .option('--file-ref <@path>', 'read the prompt from this file on the agent')
    .option('-d, --dir <dir>', 'working directory on the agent')
    .option('-t, --timeout <min>', 'timeout in minutes (capped by the profile)')
    .option('--var <NAME=VALUE>', 'value of a {{NAME}} placeholder (repeatable)', collect)
    .option('--dry-run', 'show the resolved command without running it')
    .option('-f, --follow', 'stream the output and exit with the run\'s exit code')
    .addHelpText('after', `
Examples:
  rexec run --agent web-1 --profile claude-code --prompt "Fix the failing test" --dir /srv/app --follow
  rexec run --agent web-1 --prompt-id 3f2a... --var MODULE_NAME=billing

Exit status with --follow: the run's exit code; ${EXIT.timeout} on timeout; ${EXIT.killed} when killed;
${EXIT.error} when lost or when it could not be followed. Without --follow: 0 once queued.`)
    .action(
      guarded(async (opts) => {
        const given = [opts.prompt, opts.promptId, opts.fileRef].filter((x) => x !== undefined).length;
        if (given !== 1) fail('give exactly one of --prompt, --prompt-id or --file-ref', EXIT.usage);
        const body = {
          agent: opts.agent,
          ...(opts.profile ? { profile: opts.profile } : {}),
          ...(opts.promptId ? { promptId: opts.promptId } : {}),
          ...(opts.prompt !== undefined ? { prompt: opts.prompt, type: 'inline' } : {}),
          ...(opts.fileRef ? { prompt: opts.fileRef.startsWith('@') ? opts.fileRef : `@${opts.fileRef}`, type: 'file-reference' } : {}),
          ...(opts.dir ? { workingDirectory: opts.dir } : {}),
          ...(opts.timeout ? { timeout: minutes(opts.timeout, '--timeout') } : {}),
          variables: pairs(opts.var),
          dryRun: Boolean(opts.dryRun),
        };
        if (opts.dryRun) {
          const d = await client().json<DryRunResponse>('POST', '/api/run', body);
          console.log(d.command);
          console.error(`[rexec: dry run: ${d.shell} -c <template> in ${d.workingDirectory || "the agent's default directory"}, timeout ${d.timeoutMinutes} min${d.pty ? ', pty' : ''}]`);
          return;
        }
        const { run } = await client().json<{ run: RunView }>('POST', '/api/run', body);
        process.stderr.write(`[rexec: run ${run.id} ${run.status} on ${run.agentName}]\n`);
        if (opts.follow) await follow(run);
        console.log(run.id);
      }),
    );

  const runs = program.command('runs').description('Run history: list, show, kill, logs');
  runs
    .command('list')
    .description('List runs, newest first')
    .option('--status <list>', 'comma-separated: queued,running,completed,failed,timeout,killed,lost')
    .option('-a, --agent <name>', 'only runs on this agent')
    .option('-p, --profile <profile>', 'only runs of this profile')
    .option('--trigger <trigger>', 'manual or schedule')
    .option('--dir <dir>', 'only runs in this directory (prefix)')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const q = new URLSearchParams({ limit: String(opts.limit) });
        for (const [k, v] of Object.entries({ status: opts.status, agent: opts.agent, profile: opts.profile, trigger: opts.trigger, directory: opts.dir })) if (v) q.set(k, String(v));
        const page = await client().json<{ items: RunView[]; total: number }>('GET', `/api/runs?${q}`);
        if (opts.json) return console.log(JSON.stringify(page, null, 2));
        if (!page.items.length) return console.log('no runs');
        console.log(
          table(
            ['ID', 'STATUS', 'EXIT', 'AGENT', 'PROFILE', 'STARTED', 'DURATION', 'PROMPT'],
            page.items.map((r) => [r.id, r.status, r.exitCode === null ? '-' : String(r.exitCode), r.agentName ?? r.agentId, r.profileName ?? '-', ago(r.startedAt ?? r.createdAt), duration(r.durationSeconds), r.promptContent.replace(/\s+/g, ' ').slice(0, 40)]),
          ),
        );
        if (page.total > page.items.length) console.log(`(${page.items.length} of ${page.total}; use --limit)`);
      }),
    );
  runs
    .command('show')
    .description('Show a run')
    .argument('<id>', 'run id')
    .option('--json', 'print JSON')
    .action(
      guarded(async (id: string, opts) => {
        const { run: r } = await client().json<{ run: RunView }>('GET', `/api/runs/${enc(id)}`);
        if (opts.json) return console.log(JSON.stringify(r, null, 2));
        console.log(describeEnd(r));
        console.log(`agent:    ${r.agentName ?? r.agentId}   profile: ${r.profileName ?? '-'}   trigger: ${r.triggeredBy}   by: ${r.requestedBy}`);
        console.log(`dir:      ${r.workingDirectory || '-'}   pid: ${r.pid ?? '-'}   created: ${r.createdAt}`);
        console.log(`command:  ${r.command}`);
        if (r.resourceUsage) console.log(`usage:    peak ${(r.resourceUsage.peakRssBytes / 1048576).toFixed(1)} MiB, cpu ${r.resourceUsage.cpuUserMs} ms user + ${r.resourceUsage.cpuSystemMs} ms system`);
      }),
    );
  runs
    .command('kill')
    .description('Kill a run (its whole process group); a queued run is cancelled')
    .argument('<id>', 'run id')
    .action(
      guarded(async (id: string) => {
        const { run } = await client().json<{ run: RunView }>('POST', `/api/runs/${enc(id)}/kill`);
        console.log(`run ${id}: ${run.status === 'running' ? 'kill sent' : run.status}`);
      }),
    );
  runs
    .command('logs')
    .description('Print the output of a run (cleaned; --raw keeps ANSI colours), or --follow it live')
    .argument('<id>', 'run id')
    .option('--raw', 'output exactly as produced, ANSI sequences included')
    .option('-f, --follow', 'stream until the run ends (raw bytes), then exit with its exit code')
    .action(
      guarded(async (id: string, opts) => {
        if (opts.follow) {
          const { run } = await client().json<{ run: RunView }>('GET', `/api/runs/${enc(id)}`);
          await follow(run);
        }
        const { host, token } = loginOrFail();
        const res = await fetch(new URL(`/api/runs/${enc(id)}/log${opts.raw ? '?raw=1' : ''}`, host), { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok) fail(res.status === 404 ? `no run ${id}` : `relay answered HTTP ${res.status}`);
        process.stdout.write(await res.text());
      }),
    );
}
