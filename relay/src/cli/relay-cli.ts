/** `rexec-relay`: run the relay and administer it. */
import { Command, Option } from 'commander';
import { ROLES, type AuditEventView, type TokenView, type UserView } from '@rexec/shared';
import { resolveConfig, defaultDataDir } from '../config.js';
import { startRelay } from '../server.js';
import { callControlSocket } from '../control/socket.js';
import { runAdminOp, adminRequestSchema, type AdminRequest } from '../control/admin-ops.js';
import { openDatabase } from '../db/open.js';
import { lockHolder } from '../db/data-dir-lock.js';
import { RELAY_VERSION } from '../version.js';
import { table } from './cli-util.js';
import { log } from '../log.js';
import { loadMallocTrim } from '../memory/malloc-trim.js';
import { MemoryTrimmer } from '../memory/trimmer.js';
import path from 'node:path';

function fail(message: string, code = 1): never {
  process.stderr.write(`rexec-relay: ${message}\n`);
  process.exit(code);
}

/**
 * Runs an admin operation: through a running relay's control socket when there is one,
 * otherwise directly on the database (PostgreSQL, or PGlite when no relay holds the data dir).
 */
async function admin(dataDirFlag: string | undefined, req: AdminRequest): Promise<unknown> {
  const dataDir = path.resolve(dataDirFlag ?? defaultDataDir());
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    try {
      return await callControlSocket(dataDir, req);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw err;
      const holder = lockHolder(dataDir);
      if (holder !== null) throw new Error(`a relay (pid ${holder}) holds ${dataDir} but its control socket does not answer`);
    }
  }
  const db = await openDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), ...(process.env.REXEC_PGLITE_SHARED_BUFFERS ? { sharedBuffers: process.env.REXEC_PGLITE_SHARED_BUFFERS } : {}) });
  try {
    return await runAdminOp(db.prisma, adminRequestSchema.parse(req));
  } finally {
    await db.close();
  }
}

function printTokens(tokens: TokenView[]): void {
  if (!tokens.length) return void console.log('no API tokens');
  printTable(
    ['ID', 'NAME', 'ROLE', 'PREFIX', 'STATE', 'EXPIRES', 'LAST USED'],
    tokens.map((t) => [t.id, t.name, t.role, t.prefix + '…', t.revokedAt ? 'revoked' : t.expiresAt && new Date(t.expiresAt) < new Date() ? 'expired' : 'active', t.expiresAt ?? 'never', t.lastUsedAt ?? 'never']),
  );
}

/**
 * Trims malloc's free memory now and then every `intervalMs` (src/memory/trimmer.ts); 0 turns it
 * off. Returns why it cannot, when the addon is missing.
 */
function startMemoryTrimming(intervalMs: number): string | null {
  if (intervalMs === 0) return null;
  const malloc = loadMallocTrim();
  if ('unavailable' in malloc) return malloc.unavailable;
  new MemoryTrimmer({ trim: malloc.trim, rssBytes: () => process.memoryUsage.rss(), intervalMs }).start();
  return null;
}

export function buildRelayProgram(): Command {
  const program = new Command('rexec-relay')
    .description('The Rexec relay: agents dial in, people reach their servers through it.')
    .version(RELAY_VERSION)
    .showHelpAfterError();

  program
    .command('start')
    .description('Run the relay in the foreground (SIGTERM or Ctrl-C stops it cleanly)')
    .option('-p, --port <port>', 'TCP port to listen on; 0 picks a free one (env REXEC_PORT, default 8420)')
    .option('-b, --bind <address>', 'address to listen on (env REXEC_BIND, default 127.0.0.1; 0.0.0.0 for all)')
    .option('-d, --data-dir <dir>', 'where the embedded database, lock and control socket live (env REXEC_DATA_DIR, default ~/.rexec/relay)')
    .option('--public-url <url>', 'URL people and agents use to reach this relay; browser sockets must come from its origin (env REXEC_PUBLIC_URL)')
    .option('--tls-cert <file>', 'serve HTTPS/WSS with this PEM certificate chain (env REXEC_TLS_CERT; needs --tls-key)')
    .option('--tls-key <file>', 'the PEM private key for --tls-cert (env REXEC_TLS_KEY)')
    .addOption(new Option('--log-level <level>', 'log verbosity').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (opts) => {
      const { setLogLevel } = await import('../log.js');
      setLogLevel(opts.logLevel);
      let cfg;
      try {
        cfg = resolveConfig(opts);
      } catch (err) {
        fail((err as Error).message, 2);
      }
      let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
      let stopping = false;
      // Without its embedded database the relay can do nothing: stop with an error, so that a
      // service manager starts it again (a new database process recovers the files like PostgreSQL
      // after a crash).
      const onDatabaseLost = (reason: string) => {
        log.error(`${reason}; the relay stops`);
        if (stopping) return;
        stopping = true;
        void (relay?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
      };
      try {
        relay = await startRelay(cfg, { onDatabaseLost });
      } catch (err) {
        fail(`could not start: ${(err as Error).message}`);
      }
      log.info('relay listening', { url: relay.url, database: relay.db.kind, dataDir: cfg.dataDir });
      // Started once listening: what start-up freed (the compiler's zones, migrations) goes back at once.
      const noTrimming = startMemoryTrimming(cfg.memoryTrimMs);
      if (noTrimming) log.warn('freed memory is not given back to the system', { reason: noTrimming });
      if (relay.initialAdmin) {
        console.log(
          [
            '',
            '  First start: an admin account was created.',
            `    username: ${relay.initialAdmin.username}`,
            `    one-time password: ${relay.initialAdmin.password}`,
            `  (also in ${path.join(cfg.dataDir, 'initial-admin-password')}; you must choose a new password at first login)`,
            '',
          ].join('\n'),
        );
      }
      // Last, so whoever waits for this line has the banner above it already.
      console.log(`Relay listening on ${relay.url}`);
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info('shutting down', { signal: sig });
        await relay!.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });

  const token = program.command('token').description('Manage API tokens for the rexec CLI and automation');
  const dataDirOpt = () => new Option('-d, --data-dir <dir>', 'the relay data directory (env REXEC_DATA_DIR); DATABASE_URL selects PostgreSQL');
  token
    .command('create')
    .description('Create an API token and print it once (only its hash is stored)')
    .requiredOption('-n, --name <name>', 'a name to recognise the token by')
    .addOption(new Option('-r, --role <role>', 'what the token may do').choices([...ROLES]).default('operator'))
    .option('--expires-in-days <days>', 'expire after this many days (default: never)')
    .option('--agent-tags <a,b>', 'limit the token to agents with one of these tags (default: all agents)')
    .addOption(dataDirOpt())
    .option('--json', 'print JSON { token, info }')
    .action(async (opts) => {
      const expires = opts.expiresInDays !== undefined ? Number(opts.expiresInDays) : undefined;
      if (expires !== undefined && (!Number.isInteger(expires) || expires <= 0)) fail('--expires-in-days must be a positive whole number', 2);
      try {
        const res = (await admin(opts.dataDir, { op: 'token.create', args: { name: opts.name, role: opts.role, agentTags: splitTags(opts.agentTags), ...(expires ? { expiresInDays: expires } : {}) } })) as { token: string; info: TokenView };
        if (opts.json) console.log(JSON.stringify(res));
        else console.log(res.token);
      } catch (err) {
        fail((err as Error).message);
      }
    });
  token
    .command('list')
    .description('List API tokens (never their secrets)')
    .addOption(dataDirOpt())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      try {
        const tokens = (await admin(opts.dataDir, { op: 'token.list', args: {} })) as TokenView[];
        if (opts.json) console.log(JSON.stringify(tokens));
        else printTokens(tokens);
      } catch (err) {
        fail((err as Error).message);
      }
    });
  token
    .command('revoke')
    .description('Revoke an API token by id or name; it stops working at once')
    .argument('<id-or-name>', 'token id or name')
    .addOption(dataDirOpt())
    .action(async (id, opts) => {
      try {
        const t = (await admin(opts.dataDir, { op: 'token.revoke', args: { id } })) as TokenView;
        console.log(`revoked ${t.name} (${t.id})`);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  const user = program.command('user').description('Manage users (bootstrap and recovery; also in the web app and /api/users)');
  user
    .command('create')
    .description('Create a user; without --password a one-time password is printed, to be changed at first login')
    .argument('<username>', 'login name')
    .addOption(new Option('-r, --role <role>', 'what the user may do').choices([...ROLES]).default('operator'))
    .option('--agent-tags <a,b>', 'limit the user to agents with one of these tags (default: all agents)')
    .option('--password-stdin', 'read the password from standard input instead of generating a one-time one')
    .addOption(dataDirOpt())
    .action(async (username: string, opts) => {
      try {
        const password = opts.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : undefined;
        const r = (await admin(opts.dataDir, { op: 'user.create', args: { username, role: opts.role, agentTags: splitTags(opts.agentTags), ...(password !== undefined ? { password } : {}) } })) as { user: UserView; oneTimePassword?: string };
        console.log(`created ${r.user.username} (${r.user.role})`);
        if (r.oneTimePassword) console.log(`one-time password: ${r.oneTimePassword}`);
      } catch (err) {
        fail((err as Error).message);
      }
    });
  user
    .command('list')
    .description('List users')
    .addOption(dataDirOpt())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      try {
        const users = (await admin(opts.dataDir, { op: 'user.list', args: {} })) as UserView[];
        if (opts.json) return console.log(JSON.stringify(users));
        printTable(['USERNAME', 'ROLE', 'STATE', 'AGENT TAGS', 'LAST LOGIN'], users.map((u) => [u.username, u.role, u.disabled ? 'disabled' : u.lockedUntil ? `locked until ${u.lockedUntil}` : 'active', u.agentTags.join(',') || 'all', u.lastLoginAt ?? 'never']));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  for (const [name, disabled, what] of [['disable', true, 'Disable a user: their sessions, tokens and open terminals stop at once'], ['enable', false, 'Enable a disabled user (also clears a login lockout)']] as const) {
    user
      .command(name)
      .description(what)
      .argument('<username>', 'login name or id')
      .addOption(dataDirOpt())
      .action(async (username: string, opts) => {
        try {
          const u = (await admin(opts.dataDir, { op: 'user.update', args: { user: username, disabled } })) as UserView;
          console.log(`${u.username} is ${u.disabled ? 'disabled' : 'enabled'}`);
        } catch (err) {
          fail((err as Error).message);
        }
      });
  }
  user
    .command('set-role')
    .description("Change a user's role and/or agent tags; their sessions end and they sign in again")
    .argument('<username>', 'login name or id')
    .addOption(new Option('-r, --role <role>', 'new role').choices([...ROLES]))
    .option('--agent-tags <a,b>', 'agents they may use, by tag ("" for all)')
    .addOption(dataDirOpt())
    .action(async (username: string, opts) => {
      if (!opts.role && opts.agentTags === undefined) fail('give --role and/or --agent-tags', 2);
      try {
        const u = (await admin(opts.dataDir, { op: 'user.update', args: { user: username, ...(opts.role ? { role: opts.role } : {}), ...(opts.agentTags !== undefined ? { agentTags: splitTags(opts.agentTags) } : {}) } })) as UserView;
        console.log(`${u.username}: role ${u.role}, agents ${u.agentTags.join(',') || 'all'}`);
      } catch (err) {
        fail((err as Error).message);
      }
    });
  user
    .command('reset-password')
    .description('Give a user a new one-time password (printed once); ends their sessions and clears a lockout')
    .argument('<username>', 'login name or id')
    .addOption(dataDirOpt())
    .action(async (username: string, opts) => {
      try {
        const r = (await admin(opts.dataDir, { op: 'user.reset-password', args: { user: username } })) as { user: UserView; oneTimePassword: string };
        console.log(`one-time password for ${r.user.username}: ${r.oneTimePassword}`);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  program
    .command('enroll')
    .description('Make a single-use enrollment token (15 min by default) and print the command to run on the new server')
    .requiredOption('--host <url>', 'the relay URL the server will use (env REXEC_PUBLIC_URL)', process.env.REXEC_PUBLIC_URL)
    .option('--tags <a,b>', 'tags the new agent gets')
    .option('--expires-in-minutes <n>', 'lifetime, 1-1440', '15')
    .addOption(dataDirOpt())
    .option('--json', 'print JSON { token, expiresAt, installCommand, registerCommand }')
    .action(async (opts) => {
      const minutes = Number(opts.expiresInMinutes);
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) fail('--expires-in-minutes must be a whole number 1-1440', 2);
      try {
        const r = (await admin(opts.dataDir, { op: 'enrollment.create', args: { publicUrl: opts.host, tags: splitTags(opts.tags), expiresInMinutes: minutes } })) as { token: string; expiresAt: string; installCommand: string; registerCommand: string };
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`On the new server (single use, until ${r.expiresAt}):\n  from a checkout:        ${r.installCommand}\n  with rexec-agent there: ${r.registerCommand}`);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  const audit = program.command('audit').description('The audit log (append-only, hash-chained)');
  audit
    .command('verify')
    .description('Walk the hash chain; exit 0 when intact, 1 with the first broken entry otherwise')
    .addOption(dataDirOpt())
    .action(async (opts) => {
      try {
        const r = (await admin(opts.dataDir, { op: 'audit.verify', args: {} })) as { ok: boolean; entries: number; brokenAt?: number; problem?: string };
        if (r.ok) console.log(`audit log intact: ${r.entries} entries`);
        else {
          console.log(`audit log BROKEN at entry ${r.brokenAt}: ${r.problem} (${r.entries} entries verified before it)`);
          process.exitCode = 1;
        }
      } catch (err) {
        fail((err as Error).message);
      }
    });
  audit
    .command('list')
    .description('Show audit entries, newest first')
    .option('-n, --limit <n>', 'how many', '50')
    .option('--action <action>', 'exact action, or a prefix ending in "." (e.g. auth.)')
    .option('--actor <actor>', 'e.g. user:alice')
    .addOption(dataDirOpt())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      try {
        const page = (await admin(opts.dataDir, { op: 'audit.list', args: { limit: Number(opts.limit), offset: 0, ...(opts.action ? { action: opts.action } : {}), ...(opts.actor ? { actor: opts.actor } : {}) } })) as { items: AuditEventView[] };
        if (opts.json) return console.log(JSON.stringify(page.items));
        printTable(['SEQ', 'AT', 'ACTOR', 'ACTION', 'TARGET', 'IP'], page.items.map((e) => [String(e.seq), e.at, e.actor, e.action, e.target || '-', e.ip ?? '-']));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  return program;
}

function splitTags(v: string | undefined): string[] {
  return (v ?? '').split(',').map((t) => t.trim()).filter(Boolean);
}

function printTable(head: string[], rows: string[][]): void {
  console.log(rows.length ? table(head, rows) : '(none)');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

await buildRelayProgram().parseAsync(process.argv);
