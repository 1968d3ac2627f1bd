import type { AgentView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';

type AgentRow = Awaited<ReturnType<PrismaClient['agent']['findUniqueOrThrow']>>;

/** An agent by id, or else by name (names are unique). */
export async function findAgent(prisma: PrismaClient, idOrName: string): Promise<AgentRow | null> {
  if (idOrName.length > 128) return null;
  return (await prisma.agent.findUnique({ where: { id: idOrName } })) ?? (await prisma.agent.findUnique({ where: { name: idOrName } }));
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
