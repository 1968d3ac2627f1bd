/**
 * `rexec schedules ...`, `rexec webhooks ...` and `rexec stats`: cron schedules of saved prompts,
 * run notifications, and run analytics from the command line.
 */
import { Command, Option } from 'commander';
import type {
  PreviewResponse,
  RunView,
  ScheduleConflict,
  ScheduleFireView,
  ScheduleView,
  StatsGroup,
  StatsResponse,
  WebhookDeliveryView,
  WebhookView,
} from '@rexec/shared';
import { ago, client, collect, EXIT, fail, guarded, pairs, table } from './cli-util.js';

const enc = encodeURIComponent;

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const secs = (x: number | null) => (x === null ? '-' : x < 60 ? `${x.toFixed(1)}s` : `${Math.floor(x / 60)}m${String(Math.round(x % 60)).padStart(2, '0')}s`);
const num = (x: number) => x.toLocaleString('en-US');
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z') : '-');

function positiveMinutes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) fail('--timeout must be a positive number of minutes', EXIT.usage);
  return n;
}

function printWarnings(warnings: ScheduleConflict[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
}

function target(s: ScheduleView): string {
  return s.agentTag ? `tag:${s.agentTag}` : (s.agentName ?? s.agentId ?? '-');
}

/** Body fields shared by create and edit, from their options. */
function scheduleBody(opts: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => v !== undefined && (body[k] = v);
  set('name', opts.name);
  set('description', opts.description);
  set('promptId', opts.promptId);
  set('profile', opts.profile);
  set('agent', opts.agent);
  set('agentTag', opts.tag);
  set('workingDirectory', opts.dir);
  set('timeout', positiveMinutes(opts.timeout as string | undefined));
  set('cronExpression', opts.cron);
  set('timezone', opts.tz);
  set('overlapPolicy', opts.overlap);
  set('missedPolicy', opts.missed);
  if (opts.var) body.variables = pairs(opts.var as string[]);
  return body;
}

function addScheduleOptions(cmd: Command, create: boolean): Command {
  const req = (flags: string, text: string) => (create ? cmd.requiredOption(flags, text) : cmd.option(flags, text));
  req('--name <name>', 'schedule name (unique)');
  req('--prompt-id <id>', 'the saved prompt to run (see `rexec prompts list`)');
  req('--cron <expr>', 'cron expression, 5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * MON-FRI"');
  return cmd
    .option('--tz <zone>', 'IANA time zone the expression is read in, e.g. Europe/Paris (default UTC)')
    .option('-a, --agent <name>', 'run on this agent (id or name)')
    .option('--tag <tag>', 'instead of --agent: run on every agent with this tag that is online at fire time')
    .option('-p, --profile <profile>', "profile id or slug (default: the prompt's)")
    .option('-d, --dir <dir>', "working directory on the agent (default: the prompt's)")
    .option('-t, --timeout <min>', "timeout in minutes (default: the prompt's or profile's; capped by the profile)")
    .option('--var <NAME=VALUE>', 'value of a {{NAME}} placeholder of the prompt (repeatable)', collect)
    .addOption(new Option('--overlap <policy>', 'when the previous run is still active: skip the fire, or queue it (one waits)').choices(['skip', 'queue']))
    .addOption(new Option('--missed <policy>', 'fire times missed while no relay ran: skip (log only) or run_once (the latest runs on start)').choices(['skip', 'run_once']))
    .option('--description <text>', 'free text');
}

export function addScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').description('Cron schedules: run saved prompts on agents at set times');

  schedules
    .command('list')
    .description('List schedules with their next and last fire')
    .option('--enabled', 'only enabled schedules')
    .option('--disabled', 'only disabled schedules')
    .option('-a, --agent <name>', 'only schedules on this agent')
    .option('--tag <tag>', 'only schedules with this agent tag')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const q = new URLSearchParams({ limit: '500' });
        if (opts.enabled || opts.disabled) q.set('enabled', opts.enabled ? 'true' : 'false');
        if (opts.agent) q.set('agent', opts.agent);
        if (opts.tag) q.set('tag', opts.tag);
        const page = await client().json<{ items: ScheduleView[] }>('GET', `/api/schedules?${q}`);
        if (opts.json) return console.log(JSON.stringify(page.items, null, 2));
        if (!page.items.length) return console.log('no schedules');
        console.log(
          table(
            ['NAME', 'CRON', 'ZONE', 'ON', 'TARGET', 'PROMPT', 'NEXT RUN', 'LAST RUN'],
            page.items.map((s) => [s.name, s.cronExpression, s.timezone, s.enabled ? 'yes' : 'no', target(s), s.promptName ?? '(deleted)', when(s.nextRunTime), s.lastRunStatus ? `${s.lastRunStatus} ${ago(s.lastFireTime)}` : '-']),
          ),
        );
      }),
    );

  schedules
    .command('show')
    .description('Show a schedule, its next fire times, recent fires and conflicts')
    .argument('<schedule>', 'schedule id or name')
    .option('--json', 'print JSON')
    .action(
      guarded(async (ref: string, opts) => {
        const c = client();
        const { schedule: s, warnings } = await c.json<{ schedule: ScheduleView; warnings: ScheduleConflict[] }>('GET', `/api/schedules/${enc(ref)}`);
        if (opts.json) return console.log(JSON.stringify({ schedule: s, warnings }, null, 2));
        const next = await c.json<PreviewResponse>('GET', `/api/schedules/${enc(s.id)}/preview?n=3`);
        const fires = await c.json<{ items: ScheduleFireView[] }>('GET', `/api/schedules/${enc(s.id)}/fires?limit=5`);
        console.log(`${s.name} (${s.id})${s.enabled ? '' : ' [disabled]'}${s.description ? `: ${s.description}` : ''}`);
        console.log(`cron:     ${s.cronExpression} (${s.timezone})   overlap: ${s.overlapPolicy}   missed: ${s.missedPolicy}`);
        console.log(`target:   ${target(s)}   prompt: ${s.promptName ?? '(deleted)'}${s.workingDirectory ? `   dir: ${s.workingDirectory}` : ''}${s.timeout ? `   timeout: ${s.timeout} min` : ''}`);
        console.log(`last run: ${s.lastRunId ? `${s.lastRunId} ${s.lastRunStatus ?? ''}` : '-'}   last fire: ${when(s.lastFireTime)}`);
        console.log(`next:     ${s.enabled ? next.local.join(', ') || 'never' : '(disabled)'}`);
        if (fires.items.length) {
          console.log('\nrecent fires:');
          console.log(table(['FIRE TIME', 'TRIGGER', 'STATUS', 'RUNS', 'REASON'], fires.items.map((f) => [when(f.fireTime), f.trigger, f.status, f.runIds.join(',') || '-', f.reason ?? ''])));
        }
        printWarnings(warnings);
      }),
    );

  addScheduleOptions(schedules.command('create').description('Create a schedule (invalid or never-firing expressions are refused)'), true)
    .option('--disabled', 'create it disabled')
    .addHelpText('after', `
Examples:
  rexec schedules create --name nightly-tests --prompt-id 3f2a... --agent web-1 --cron "0 3 * * *" --tz Europe/Paris
  rexec schedules create --name fleet-audit --prompt-id 3f2a... --tag prod --cron "*/30 9-17 * * MON-FRI" --overlap queue`)
    .action(
      guarded(async (opts) => {
        if (!opts.agent === !opts.tag) fail('give --agent or --tag, not both or neither', EXIT.usage);
        const body = { ...scheduleBody(opts), enabled: !opts.disabled };
        const r = await client().json<{ schedule: ScheduleView; warnings: ScheduleConflict[] }>('POST', '/api/schedules', body);
        console.log(`created schedule ${r.schedule.name} (${r.schedule.id}); next run ${when(r.schedule.nextRunTime)}`);
        printWarnings(r.warnings);
      }),
    );

  addScheduleOptions(schedules.command('edit').description('Change a schedule (only the options given); takes effect at once').argument('<schedule>', 'schedule id or name'), false).action(
    guarded(async (ref: string, opts) => {
      if (opts.agent && opts.tag) fail('give --agent or --tag, not both', EXIT.usage);
      const body = scheduleBody(opts);
      if (!Object.keys(body).length) fail('nothing to change: give at least one option (see --help)', EXIT.usage);
      const r = await client().json<{ schedule: ScheduleView; warnings: ScheduleConflict[] }>('PUT', `/api/schedules/${enc(ref)}`, body);
      console.log(`updated schedule ${r.schedule.name}; next run ${when(r.schedule.nextRunTime)}`);
      printWarnings(r.warnings);
    }),
  );

  schedules
    .command('delete')
    .description('Delete a schedule (its runs stay in the history)')
    .argument('<schedule>', 'schedule id or name')
    .action(
      guarded(async (ref: string) => {
        await client().json('DELETE', `/api/schedules/${enc(ref)}`);
        console.log(`deleted schedule ${ref}`);
      }),
    );

  for (const action of ['enable', 'disable'] as const) {
    schedules
      .command(action)
      .description(action === 'enable' ? 'Enable a schedule (fire times from now on; none are "missed" while it was disabled)' : 'Disable a schedule (no more fires until enabled)')
      .argument('<schedule>', 'schedule id or name')
      .action(
        guarded(async (ref: string) => {
          const r = await client().json<{ schedule: ScheduleView; warnings: ScheduleConflict[] }>('POST', `/api/schedules/${enc(ref)}/${action}`);
          console.log(`schedule ${r.schedule.name} ${action}d${r.schedule.enabled ? `; next run ${when(r.schedule.nextRunTime)}` : ''}`);
          printWarnings(r.warnings);
        }),
      );
  }

  schedules
    .command('run-now')
    .description("Run a schedule once now, outside its cron times (refused while its previous run is active unless --force)")
    .argument('<schedule>', 'schedule id or name')
    .option('--force', 'start even though the previous run is still active')
    .action(
      guarded(async (ref: string, opts) => {
        const r = await client().json<{ runs: RunView[]; skipped: { agent: string; reason: string }[] }>('POST', `/api/schedules/${enc(ref)}/run`, { force: Boolean(opts.force) });
        for (const run of r.runs) console.log(`${run.id}  ${run.status} on ${run.agentName ?? run.agentId}`);
        for (const s of r.skipped) process.stderr.write(`not on ${s.agent}: ${s.reason}\n`);
      }),
    );

  schedules
    .command('preview')
    .description('Print the next fire times of a schedule, or of an expression with --cron')
    .argument('[schedule]', 'schedule id or name')
    .option('--cron <expr>', 'an expression to try instead of a saved schedule')
    .option('--tz <zone>', 'time zone for --cron (default UTC)', 'UTC')
    .option('-n, --count <n>', 'how many fire times (1-100)', '5')
    .option('--json', 'print JSON')
    .action(
      guarded(async (ref: string | undefined, opts) => {
        if (!ref === !opts.cron) fail('give a schedule or --cron, not both or neither', EXIT.usage);
        const path = opts.cron
          ? `/api/schedules/preview?${new URLSearchParams({ cron: opts.cron, timezone: opts.tz, n: String(opts.count) })}`
          : `/api/schedules/${enc(ref!)}/preview?n=${enc(String(opts.count))}`;
        const p = await client().json<PreviewResponse>('GET', path);
        if (opts.json) return console.log(JSON.stringify(p, null, 2));
        console.log(table(['LOCAL TIME', 'UTC'], p.times.map((t, i) => [p.local[i]!, t])));
      }),
    );

  schedules
    .command('fires')
    .description('The fire history of a schedule: fired, skipped (overlap), queued, missed, error')
    .argument('<schedule>', 'schedule id or name')
    .option('--status <list>', 'comma-separated: fired,skipped,queued,missed,error')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(
      guarded(async (ref: string, opts) => {
        const q = new URLSearchParams({ limit: String(opts.limit), ...(opts.status ? { status: opts.status } : {}) });
        const page = await client().json<{ items: ScheduleFireView[]; total: number }>('GET', `/api/schedules/${enc(ref)}/fires?${q}`);
        if (opts.json) return console.log(JSON.stringify(page, null, 2));
        if (!page.items.length) return console.log('no fires yet');
        console.log(table(['FIRE TIME', 'TRIGGER', 'STATUS', 'RUNS', 'RELAY', 'REASON'], page.items.map((f) => [when(f.fireTime), f.trigger, f.status, f.runIds.join(',') || '-', f.relay, f.reason ?? ''])));
      }),
    );

  // ---- webhooks ----------------------------------------------------------------------------
  const webhooks = program.command('webhooks').description('Signed HTTP notifications when runs complete or fail (admin)');
  webhooks
    .command('list')
    .description('List webhooks')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const page = await client().json<{ items: WebhookView[] }>('GET', '/api/webhooks?limit=500');
        if (opts.json) return console.log(JSON.stringify(page.items, null, 2));
        if (!page.items.length) return console.log('no webhooks');
        console.log(table(['ID', 'NAME', 'URL', 'SCOPE', 'EVENTS', 'ON'], page.items.map((w) => [w.id, w.name, w.url, w.scheduleId ? `schedule ${w.scheduleId}` : 'all runs', w.events.join(','), w.enabled ? 'yes' : 'no'])));
      }),
    );
  webhooks
    .command('create')
    .description('Add a webhook; prints its signing secret once')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--url <url>', 'http(s) URL that receives POSTs')
    .option('--schedule <schedule>', "only this schedule's runs (default: every run)")
    .option('--event <event>', 'run.completed or run.failed (repeatable; default both)', collect)
    .option('--secret <secret>', 'HMAC secret to use (default: a generated one)')
    .action(
      guarded(async (opts) => {
        const r = await client().json<{ webhook: WebhookView; secret: string }>('POST', '/api/webhooks', {
          name: opts.name,
          url: opts.url,
          ...(opts.schedule ? { schedule: opts.schedule } : {}),
          ...(opts.event ? { events: opts.event } : {}),
          ...(opts.secret ? { secret: opts.secret } : {}),
        });
        console.log(`created webhook ${r.webhook.id}`);
        console.log(`signing secret (shown once): ${r.secret}`);
      }),
    );
  webhooks
    .command('delete')
    .description('Delete a webhook and its delivery history')
    .argument('<id>', 'webhook id')
    .action(
      guarded(async (id: string) => {
        await client().json('DELETE', `/api/webhooks/${enc(id)}`);
        console.log(`deleted webhook ${id}`);
      }),
    );
  webhooks
    .command('test')
    .description('Send a signed "ping" delivery to a webhook')
    .argument('<id>', 'webhook id')
    .action(
      guarded(async (id: string) => {
        const r = await client().json<{ deliveryId: string }>('POST', `/api/webhooks/${enc(id)}/test`);
        console.log(`queued ping ${r.deliveryId}; see \`rexec webhooks deliveries ${id}\``);
      }),
    );
  webhooks
    .command('deliveries')
    .description('Recent deliveries of a webhook with attempts and outcome')
    .argument('<id>', 'webhook id')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(
      guarded(async (id: string, opts) => {
        const page = await client().json<{ items: WebhookDeliveryView[] }>('GET', `/api/webhooks/${enc(id)}/deliveries?limit=${enc(String(opts.limit))}`);
        if (opts.json) return console.log(JSON.stringify(page.items, null, 2));
        if (!page.items.length) return console.log('no deliveries');
        console.log(table(['DELIVERY', 'EVENT', 'RUN', 'STATUS', 'ATTEMPTS', 'HTTP', 'LAST ERROR', 'CREATED'], page.items.map((d) => [d.id, d.event, d.runId ?? '-', d.status, String(d.attempts), d.responseStatus === null ? '-' : String(d.responseStatus), d.error ?? '', ago(d.createdAt)])));
      }),
    );

  // ---- stats -------------------------------------------------------------------------------
  program
    .command('stats')
    .description('Run analytics: success rates, durations, busiest directories, schedule health, tokens and cost')
    .option('--days <n>', 'the last N days', '30')
    .option('--from <iso>', 'start (ISO date or instant; overrides --days)')
    .option('--to <iso>', 'end (ISO date or instant; default now)')
    .addOption(new Option('--bucket <size>', 'time bucket of the duration table').choices(['hour', 'day', 'week']).default('day'))
    .option('-a, --agent <name>', 'only runs on this agent')
    .option('-p, --profile <profile>', 'only runs of this profile')
    .option('--schedule <schedule>', 'only runs of this schedule')
    .option('--top <n>', 'rows per ranking', '10')
    .option('--json', 'print JSON')
    .action(
      guarded(async (opts) => {
        const days = Number(opts.days);
        if (!(days > 0)) fail('--days must be a positive number', EXIT.usage);
        const iso = (v: string, flag: string) => {
          const t = new Date(v);
          if (Number.isNaN(t.getTime())) fail(`${flag} is not a date: ${v}`, EXIT.usage);
          return t.toISOString();
        };
        const to = opts.to ? iso(opts.to, '--to') : new Date().toISOString();
        const from = opts.from ? iso(opts.from, '--from') : new Date(new Date(to).getTime() - days * 86_400_000).toISOString();
        const q = new URLSearchParams({ from, to, bucket: opts.bucket, top: String(opts.top) });
        for (const k of ['agent', 'profile', 'schedule'] as const) if (opts[k]) q.set(k, opts[k]);
        const s = await client().json<StatsResponse>('GET', `/api/stats?${q}`);
        if (opts.json) return console.log(JSON.stringify(s, null, 2));
        console.log(printStats(s));
      }),
    );
}

function groupTable(title: string, head: string, rows: StatsGroup[]): string {
  if (!rows.length) return '';
  return `\n${title}\n${table(
    [head, 'RUNS', 'OK', 'FAILED', 'TIMEOUT', 'KILLED', 'LOST', 'SUCCESS', 'AVG TIME'],
    rows.map((g) => [g.name, String(g.runs), String(g.completed), String(g.failed), String(g.timeout), String(g.killed), String(g.lost), pct(g.successRate), secs(g.avgDurationSeconds)]),
  )}\n`;
}

/** The analytics as readable tables. */
export function printStats(s: StatsResponse): string {
  const t = s.totals;
  let out = `Runs from ${when(s.from)} to ${when(s.to)}: ${t.runs} runs, ${t.completed} completed, ${t.failed + t.timeout + t.killed + t.lost} failed/timed out/killed/lost; success ${pct(t.successRate)}; average ${secs(t.avgDurationSeconds)}\n`;
  out += groupTable('BY PROFILE', 'PROFILE', s.byProfile);
  out += groupTable('BY AGENT TYPE', 'AGENT TYPE', s.byAgentType);
  out += groupTable('BY PROMPT', 'PROMPT', s.byPrompt);
  out += groupTable('BY SCHEDULE', 'SCHEDULE', s.bySchedule);
  if (s.scheduleHealth.length) {
    out += `\nSCHEDULE HEALTH\n${table(
      ['SCHEDULE', 'ON', 'RUNS', 'FAILURE', 'TIMEOUT', 'FIRES', 'SKIPPED', 'MISSED', 'ERRORS', 'LAST'],
      s.scheduleHealth.map((h) => [h.name, h.enabled ? 'yes' : 'no', String(h.runs), pct(h.failureRate), pct(h.timeoutRate), String(h.fires), String(h.skipped), String(h.missed), String(h.errors), h.lastRunStatus ?? '-']),
    )}\n`;
  }
  if (s.topDirectories.length) out += `\nMOST ACTIVE DIRECTORIES\n${table(['DIRECTORY', 'RUNS', 'SUCCESS'], s.topDirectories.map((d) => [d.workingDirectory || "(agent's default)", String(d.runs), pct(d.successRate)]))}\n`;
  if (s.durationOverTime.length) out += `\nDURATION BY ${s.bucket.toUpperCase()}\n${table(['START (UTC)', 'RUNS', 'AVG TIME'], s.durationOverTime.map((b) => [when(b.bucket), String(b.runs), secs(b.avgDurationSeconds)]))}\n`;
  const u = s.usage;
  out += `\nTOKENS AND COST (runs whose output reported usage: ${u.runsWithUsage})\n`;
  if (u.runsWithUsage) {
    const row = (name: string, x: Omit<typeof u, 'byAgentType'>) => [name, String(x.runsWithUsage), num(x.inputTokens), num(x.outputTokens), num(x.cacheReadTokens), num(x.cacheWriteTokens), num(x.totalTokens), x.costUsd === null ? '-' : `$${x.costUsd.toFixed(4)}`];
    out += `${table(['AGENT TYPE', 'RUNS', 'INPUT', 'OUTPUT', 'CACHE READ', 'CACHE WRITE', 'TOTAL', 'COST'], [...u.byAgentType.map((x) => row(x.agentType, x)), row('all', u)])}\n`;
  }
  return out.trimEnd();
}
