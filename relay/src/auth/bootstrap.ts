/**
 * First start: when no user exists, create `admin` with a random one-time password that must
 * be changed at first login. It is printed once and written to `<dataDir>/initial-admin-password`
 * (0600); the file is removed when the password is changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.js';
import { generatePassword, hashPassword } from './passwords.js';

export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export async function ensureInitialAdmin(prisma: PrismaClient, dataDir: string): Promise<{ username: string; password: string } | null> {
  if ((await prisma.user.count()) > 0) return null;
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  try {
    await prisma.user.create({ data: { username: 'admin', passwordHash, role: 'admin', mustChangePassword: true } });
  } catch {
    return null; // another relay on the same database created it first
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dataDir, INITIAL_PASSWORD_FILE), password + '\n', { mode: 0o600 });
  return { username: 'admin', password };
}

export function removeInitialPasswordFile(dataDir: string): void {
  fs.rmSync(path.join(dataDir, INITIAL_PASSWORD_FILE), { force: true });
}
