/**
 * User management, shared by the REST API, the control socket and `rexec-relay user`. Every
 * change that narrows what a user may do (disable, role change, agent tags, password reset)
 * bumps the user's password version, which ends their sessions, and reports it through
 * `onAccessChanged` so live sockets are closed at once.
 */
import { ErrorCode, RexecError, type Role, type UserView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { generatePassword, hashPassword } from './passwords.js';

type UserRow = Awaited<ReturnType<PrismaClient['user']['findUniqueOrThrow']>>;

export function userView(u: UserRow): UserView {
  return {
    id: u.id,
    username: u.username,
    role: u.role as Role,
    disabled: u.disabled,
    mustChangePassword: u.mustChangePassword,
    agentTags: u.agentTags,
    createdAt: u.createdAt.toISOString(),
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
    lockedUntil: u.lockedUntil && u.lockedUntil > new Date() ? u.lockedUntil.toISOString() : null,
  };
}

export async function findUser(prisma: PrismaClient, idOrName: string): Promise<UserRow> {
  const u = idOrName.length <= 128 ? ((await prisma.user.findUnique({ where: { id: idOrName } })) ?? (await prisma.user.findUnique({ where: { username: idOrName } }))) : null;
  if (!u) throw new RexecError(ErrorCode.NotFound, `no user "${idOrName}"`);
  return u;
}

export async function listUsers(prisma: PrismaClient): Promise<UserView[]> {
  return (await prisma.user.findMany({ orderBy: { username: 'asc' } })).map(userView);
}

export async function createUser(
  prisma: PrismaClient,
  input: { username: string; role: Role; password?: string | undefined; agentTags: string[] },
): Promise<{ user: UserView; oneTimePassword?: string }> {
  const oneTime = input.password === undefined ? generatePassword() : undefined;
  try {
    const row = await prisma.user.create({
      data: { username: input.username, role: input.role, agentTags: input.agentTags, passwordHash: await hashPassword(input.password ?? oneTime!), mustChangePassword: oneTime !== undefined },
    });
    return { user: userView(row), ...(oneTime ? { oneTimePassword: oneTime } : {}) };
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new RexecError(ErrorCode.Conflict, `a user named "${input.username}" already exists`);
    throw err;
  }
}

/** The last enabled admin cannot be disabled or demoted: nobody could administer the relay then. */
async function keepOneAdmin(prisma: PrismaClient, u: UserRow, next: { role?: Role | undefined; disabled?: boolean | undefined }): Promise<void> {
  const losesAdmin = u.role === 'admin' && !u.disabled && ((next.role !== undefined && next.role !== 'admin') || next.disabled === true);
  if (!losesAdmin) return;
  const admins = await prisma.user.count({ where: { role: 'admin', disabled: false } });
  if (admins <= 1) throw new RexecError(ErrorCode.Conflict, `${u.username} is the last enabled admin; make another admin first`);
}

export async function updateUser(
  prisma: PrismaClient,
  idOrName: string,
  patch: { role?: Role | undefined; disabled?: boolean | undefined; agentTags?: string[] | undefined },
): Promise<{ user: UserView; narrowed: boolean }> {
  const u = await findUser(prisma, idOrName);
  await keepOneAdmin(prisma, u, patch);
  const narrowed =
    (patch.disabled === true && !u.disabled) ||
    (patch.role !== undefined && patch.role !== u.role) ||
    (patch.agentTags !== undefined && patch.agentTags.join('\n') !== u.agentTags.join('\n'));
  const row = await prisma.user.update({
    where: { id: u.id },
    data: {
      ...(patch.role !== undefined ? { role: patch.role } : {}),
      ...(patch.disabled !== undefined ? { disabled: patch.disabled, ...(patch.disabled ? {} : { failedLogins: 0, lockedUntil: null }) } : {}),
      ...(patch.agentTags !== undefined ? { agentTags: patch.agentTags } : {}),
      ...(narrowed ? { passwordVersion: { increment: 1 } } : {}),
    },
  });
  return { user: userView(row), narrowed };
}

/** A new one-time password (must be changed at next login); ends the user's sessions and unlocks the account. */
export async function resetPassword(prisma: PrismaClient, idOrName: string): Promise<{ user: UserView; oneTimePassword: string }> {
  const u = await findUser(prisma, idOrName);
  const oneTimePassword = generatePassword();
  const row = await prisma.user.update({
    where: { id: u.id },
    data: { passwordHash: await hashPassword(oneTimePassword), mustChangePassword: true, passwordVersion: { increment: 1 }, failedLogins: 0, lockedUntil: null },
  });
  return { user: userView(row), oneTimePassword };
}
