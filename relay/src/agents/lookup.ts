import type { AgentView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { canUseAgent, type Principal } from '../auth/principal.js';

type AgentRow = Awaited<ReturnType<PrismaClient['agent']['findUniqueOrThrow']>>;

/** An agent by id, or else by name (names are unique). */
export async function findAgent(prisma: PrismaClient, idOrName: string): Promise<AgentRow | null> {
  if (idOrName.length > 128) return null;
  return (await prisma.agent.findUnique({ where: { id: idOrName } })) ?? (await prisma.agent.findUnique({ where: { name: idOrName } }));
}

/** An agent the principal may use, or null (also when it exists but is off limits: no existence leak). */
export async function findUsableAgent(prisma: PrismaClient, idOrName: string, p: Principal): Promise<AgentRow | null> {
  const a = await findAgent(prisma, idOrName);
  return a && canUseAgent(p, a) ? a : null;
}

/** Ids of the agents a restricted principal may use; null when it may use every agent. */
export async function usableAgentIds(prisma: PrismaClient, p: Principal): Promise<string[] | null> {
  if (p.kind === 'agent') return [p.id];
  if (p.role === 'admin' || p.agentTags.length === 0) return null;
  return (await prisma.agent.findMany({ where: { tags: { hasSome: p.agentTags } }, select: { id: true } })).map((a) => a.id);
}

export function agentView(a: AgentRow, online: boolean): AgentView {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    type: a.type,
    hostname: a.hostname,
    os: a.os,
    arch: a.arch,
    shell: a.shell,
    tags: a.tags,
    version: a.version,
    status: online ? 'online' : 'offline',
    connectedAt: online ? (a.connectedAt?.toISOString() ?? null) : null,
    lastSeenAt: (online ? new Date() : a.lastSeenAt)?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
  };
}
