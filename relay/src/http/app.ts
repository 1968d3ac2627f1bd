/** The express application: JSON API under /api, the web app everywhere else. */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { PROTOCOL_VERSION } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AgentHub } from '../hub/agent-hub.js';
import type { ExecService } from '../exec/exec-service.js';
import type { JwtSigner } from '../auth/jwt.js';
import type { Authenticator } from '../auth/principal.js';
import type { DatabaseKind } from '../db/open.js';
import { authenticate } from './auth-middleware.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { securityHeaders } from './security-headers.js';
import { authRouter } from './routes/auth.js';
import { agentsRouter } from './routes/agents.js';
import { tokensRouter } from './routes/tokens.js';
import { profilesRouter } from './routes/profiles.js';
import { promptsRouter } from './routes/prompts.js';
import { runsRouter } from './routes/runs.js';
import { settingsRouter } from './routes/settings.js';
import { schedulesRouter } from './routes/schedules.js';
import { statsRouter } from './routes/stats.js';
import { webhooksRouter } from './routes/webhooks.js';
import type { Scheduler } from '../schedules/scheduler.js';
import type { WebhookNotifier } from '../notify/webhooks.js';
import type { RunEngine } from '../runs/run-engine.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { AccessEffects } from '../ws/live-sockets.js';
import { usersRouter } from './routes/users.js';
import { auditRouter } from './routes/audit.js';
import { enrollmentRegisterRouter, enrollmentRouter } from './routes/enrollment.js';
import { RELAY_VERSION } from '../version.js';
import type { EventBus } from '../events/event-bus.js';
import { eventsRouter } from '../events/event-stream.js';
import { shareInfoRouter, sharesRouter } from './routes/shares.js';
import type { ShareSockets } from '../shares/share-sockets.js';

export interface AppDeps {
  prisma: PrismaClient;
  hub: AgentHub;
  events: EventBus;
  execs: ExecService;
  runs: RunEngine;
  box: SecretBox;
  effects: AccessEffects;
  shareSockets: ShareSockets;
  /** The relay's public URL (known once it listens). */
  publicUrl: () => string;
  signer: JwtSigner;
  auth: Authenticator;
  dataDir: string;
  databaseKind: DatabaseKind;
  webDir: string | null;
  scheduler: Scheduler;
  notifier: WebhookNotifier;
}

export function createApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders);

  const api = express.Router();
  api.use(express.json({ limit: '256kb' }));
  api.get('/health', (_req, res) => {
    res.json({ status: 'ok', version: RELAY_VERSION, protocolVersion: PROTOCOL_VERSION, database: d.databaseKind, agentsOnline: d.hub.onlineCount });
  });
  api.use(authRouter(d.prisma, d.signer, d.auth, d.dataDir, d.effects));
  api.use(enrollmentRegisterRouter(d.prisma, d.events));
  api.use(shareInfoRouter(d.prisma));
  api.use(authenticate(d.auth));
  api.use(eventsRouter(d.events));
  api.use(agentsRouter(d.prisma, d.hub, d.execs, d.events));
  api.use(sharesRouter(d.prisma, d.shareSockets, d.publicUrl));
  api.use(tokensRouter(d.prisma, d.effects));
  api.use(usersRouter(d.prisma, d.effects));
  api.use(auditRouter(d.prisma));
  api.use(enrollmentRouter(d.prisma, d.publicUrl));
  api.use(profilesRouter(d.prisma, d.box, d.runs));
  api.use(promptsRouter(d.prisma));
  api.use(runsRouter(d.prisma, d.box, d.runs));
  api.use(settingsRouter(d.prisma, d.runs));
  api.use(schedulesRouter(d.prisma, d.box, d.runs, d.scheduler));
  api.use(statsRouter(d.prisma));
  api.use(webhooksRouter(d.prisma, d.box, d.notifier));
  api.use(notFoundHandler);
  api.use(errorHandler);
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  }, api);

  if (d.webDir && fs.existsSync(path.join(d.webDir, 'index.html'))) {
    const index = path.join(d.webDir, 'index.html');
    // Vite puts content-hashed files under /assets: they never change, so cache them for good.
    app.use('/assets', express.static(path.join(d.webDir, 'assets'), { index: false, immutable: true, maxAge: '365d', fallthrough: false }));
    app.use(express.static(d.webDir, { index: false, maxAge: '5m' }));
    app.get(/^\/(?!api\/|ws\/).*/, (_req, res) => res.sendFile(index));
  } else {
    app.get('/', (_req, res) => res.type('text/plain').send('Rexec relay is running, but the web app is not built (pnpm --filter @rexec/web build).\n'));
  }
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
