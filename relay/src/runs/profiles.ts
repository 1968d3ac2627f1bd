/**
 * Agent profiles at rest: views for the API, secret variables sealed with the relay's key (never
 * returned in clear), and the built-in examples seeded once on a fresh database.
 */
import { z } from 'zod';
import { BUILTIN_PROFILES, ErrorCode, RexecError, profileEnvInputSchema, type ProfileView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';

export type ProfileRow = Awaited<ReturnType<PrismaClient['agentProfile']['findUniqueOrThrow']>>;

/** A stored variable: secret values are sealed ("v1:..."). */
const storedEnvSchema = z.array(z.object({ name: z.string(), secret: z.boolean(), value: z.string() }));
type StoredEnv = z.infer<typeof storedEnvSchema>;
type EnvInput = z.infer<typeof profileEnvInputSchema>;

export function storedEnv(row: Pick<ProfileRow, 'env'>): StoredEnv {
  const r = storedEnvSchema.safeParse(row.env);
  return r.success ? r.data : [];
}

export function profileView(row: ProfileRow): ProfileView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    agentType: row.agentType as ProfileView['agentType'],
    invocationTemplate: row.invocationTemplate,
    defaultTimeout: row.defaultTimeout,
    maxTimeout: row.maxTimeout,
    shell: row.shell,
    env: storedEnv(row).map((e) => ({ name: e.name, secret: e.secret, value: e.secret ? null : e.value })),
    enabled: row.enabled,
    icon: row.icon,
    pty: row.pty,
    builtIn: row.builtIn,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * The variables to store after an update: a variable given without a value keeps its stored value
 * (how a client leaves a secret alone without knowing it); secret values are sealed.
 */
export function mergeEnv(previous: StoredEnv, input: EnvInput[], box: SecretBox): StoredEnv {
  const seen = new Set<string>();
  return input.map((e) => {
    if (seen.has(e.name)) throw new RexecError(ErrorCode.ValidationFailed, `variable ${e.name} is given twice`);
    seen.add(e.name);
    let plain: string;
    if (e.value !== undefined) plain = e.value;
    else {
      const old = previous.find((p) => p.name === e.name);
      if (!old) throw new RexecError(ErrorCode.ValidationFailed, `variable ${e.name} needs a value`);
      plain = old.secret ? box.open(old.value) : old.value;
    }
    return { name: e.name, secret: e.secret, value: e.secret ? box.seal(plain) : plain };
  });
}

/** The variables in clear, for a run's environment only. */
export function openEnv(stored: StoredEnv, box: SecretBox): { env: Record<string, string>; secretNames: string[] } {
  const env: Record<string, string> = {};
  const secretNames: string[] = [];
  for (const e of stored) {
    env[e.name] = e.secret ? box.open(e.value) : e.value;
    if (e.secret) secretNames.push(e.name);
  }
  return { env, secretNames };
}

/** A profile by id or slug. */
export async function findProfile(prisma: PrismaClient, idOrSlug: string): Promise<ProfileRow | null> {
  if (idOrSlug.length > 64) return null;
  return (await prisma.agentProfile.findUnique({ where: { id: idOrSlug } })) ?? (await prisma.agentProfile.findUnique({ where: { slug: idOrSlug } }));
}

/** Seeds the built-in example profiles once per database (deleted ones do not come back). */
export async function seedBuiltInProfiles(prisma: PrismaClient): Promise<number> {
  const key = 'runner.builtins_seeded';
  if (await prisma.setting.findUnique({ where: { key } })) return 0;
  let n = 0;
  for (const p of BUILTIN_PROFILES) {
    const { acknowledgeDangerous: _a, env: _e, ...fields } = p as typeof p & { acknowledgeDangerous?: boolean };
    const exists = await prisma.agentProfile.findUnique({ where: { slug: p.slug! } });
    if (exists) continue;
    await prisma.agentProfile.create({ data: { ...fields, slug: p.slug!, env: [], builtIn: true } as never });
    n++;
  }
  await prisma.setting.upsert({ where: { key }, create: { key, value: new Date().toISOString() }, update: {} });
  return n;
}
