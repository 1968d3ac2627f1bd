/**
 * Starts a relay: database (migrated), auth, agent hub, HTTP API + web app, WebSocket upgrades,
 * control socket. `stop()` shuts down in order: stop accepting, tell agents to go away, close
 * sockets, close the database.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '@rexec/shared';
import type { RelayConfig } from './config.js';
import { originChecker } from './config.js';
import { openDatabase, type Database } from './db/open.js';
import { JwtSigner, loadJwtSecret } from './auth/jwt.js';
import { Authenticator } from './auth/principal.js';
import { ensureInitialAdmin } from './auth/bootstrap.js';
import { AgentHub } from './hub/agent-hub.js';
import { ExecService } from './exec/exec-service.js';
import { loadSecretBox } from './auth/secret-box.js';
import { RunEngine } from './runs/run-engine.js';
import { seedBuiltInProfiles } from './runs/profiles.js';
import { LiveSockets, accessEffects } from './ws/live-sockets.js';
import { ShareSockets } from './shares/share-sockets.js';
import { createApp } from './http/app.js';
import { createUpgradeHandler } from './ws/upgrade.js';
import { startControlSocket } from './control/socket.js';
import { startScheduling } from './schedules/wiring.js';
import { log } from './log.js';
import { EventBus } from './events/event-bus.js';

export interface RunningRelay {
  url: string;
  port: number;
  db: Database;
  initialAdmin: { username: string; password: string } | null;
  stop(): Promise<void>;
}

export interface RelayHooks {
  /** The embedded database's process ended under the relay (default: logged). */
  onDatabaseLost?: (reason: string) => void;
}

export async function startRelay(cfg: RelayConfig, hooks: RelayHooks = {}): Promise<RunningRelay> {
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase({
    dataDir: cfg.dataDir,
    ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}),
    ...(cfg.pgliteSharedBuffers ? { sharedBuffers: cfg.pgliteSharedBuffers } : {}),
    ...(hooks.onDatabaseLost ? { onLost: hooks.onDatabaseLost } : {}),
  });
  const cleanups: (() => Promise<void> | void)[] = [() => db.close()];
  try {
    if (db.applied.length) log.info('migrations applied', { migrations: db.applied.join(',') });
    const prisma = db.prisma;
    const signer = new JwtSigner(await loadJwtSecret(prisma), cfg.sessionTtlSeconds);
    const auth = new Authenticator(prisma, signer);
    const initialAdmin = await ensureInitialAdmin(prisma, cfg.dataDir);
    const events = new EventBus(prisma);
    cleanups.unshift(() => events.closeAll());
    const hub = new AgentHub(
      prisma,
      { heartbeatIntervalMs: cfg.heartbeatIntervalMs, deadLinkTimeoutMs: cfg.deadLinkTimeoutMs, helloTimeoutMs: cfg.helloTimeoutMs },
      events,
    );
    // With the embedded database this relay is the only one: nothing is connected yet.
    if (db.kind === 'embedded') await hub.resetPresence();
    const execs = new ExecService(prisma, hub);
    const box = loadSecretBox(cfg.dataDir);
    const seeded = await seedBuiltInProfiles(prisma);
    if (seeded) log.info('built-in agent profiles added', { profiles: seeded });
    const runs = new RunEngine(prisma, hub, box, cfg.runs);
    hub.runHooks = runs;
    runs.onChange((run, change) => events.publish({ type: change === 'created' ? 'run.created' : change === 'finished' ? 'run.finished' : 'run.updated', run }, { agentId: run.agentId }));
    await runs.start();
    cleanups.unshift(() => runs.stop());
    const scheduling = await startScheduling(prisma, box, runs, db.kind, cfg, events);
    cleanups.unshift(() => scheduling.stop());

    const liveSockets = new LiveSockets();
    const effects = accessEffects(liveSockets, events);
    const shareSockets = new ShareSockets();
    let publicUrl = cfg.publicUrl ?? '';
    let allowOrigin: (o: string) => boolean = () => false;
    const app = createApp({ prisma, hub, events, execs, runs, box, effects, shareSockets, publicUrl: () => publicUrl, signer, auth, dataDir: cfg.dataDir, databaseKind: db.kind, webDir: cfg.webDir, scheduler: scheduling.scheduler, notifier: scheduling.notifier });
    // A client gets 10 s to send its request headers (checked every 2 s); bodies and streams are not timed.
    const serverOptions = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 2000 };
    const server = cfg.tls ? https.createServer({ ...serverOptions, ...readTls(cfg.tls), minVersion: 'TLSv1.2' }, app) : http.createServer(serverOptions, app);
    server.maxHeadersCount = 100;
    const upgrades = createUpgradeHandler({ prisma, auth, hub, runs, liveSockets, events, shareSockets, isOriginAllowed: (o) => allowOrigin(o) });
    server.on('upgrade', upgrades.onUpgrade);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(cfg.port, cfg.bind, resolve));
    const port = (server.address() as AddressInfo).port;
    if (!publicUrl) publicUrl = `${cfg.tls ? 'https' : 'http'}://${cfg.bind === '0.0.0.0' || cfg.bind === '::' ? 'localhost' : cfg.bind.includes(':') ? `[${cfg.bind}]` : cfg.bind}:${port}`;
    allowOrigin = originChecker(publicUrl, cfg.allowedOrigins);
    cleanups.unshift(
      () =>
        new Promise<void>((resolve) => {
          hub.closeAll(CloseCode.GoingAway, 'relay shutting down');
          for (const c of upgrades.wss.clients) c.close(CloseCode.GoingAway, 'relay shutting down');
          server.closeIdleConnections();
          server.close(() => resolve());
          setTimeout(() => {
            server.closeAllConnections();
            for (const c of upgrades.wss.clients) c.terminate();
            resolve();
          }, 3000).unref();
        }),
    );
    if (db.kind === 'embedded') cleanups.unshift(await startControlSocket(cfg.dataDir, prisma, effects));
    else cleanups.unshift(await startControlSocket(cfg.dataDir, prisma, effects).catch(() => () => {}));

    let stopping: Promise<void> | null = null;
    return {
      url: publicUrl,
      port,
      db,
      initialAdmin,
      stop: () =>
        (stopping ??= (async () => {
          for (const c of cleanups) await c();
        })()),
    };
  } catch (err) {
    for (const c of cleanups) await c();
    throw err;
  }
}

/** The certificate and key, with a clear message when they cannot be read. */
function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read(tls.certFile, 'certificate'), key: read(tls.keyFile, 'key') };
}
