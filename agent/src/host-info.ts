/** Facts about this host that the agent reports at registration and in its hello. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { RegisterAgentRequest } from '@rexec/shared';

export type AgentType = NonNullable<RegisterAgentRequest['type']>;

export function agentType(platform: NodeJS.Platform = process.platform): AgentType {
  switch (platform) {
    case 'linux':
    case 'darwin':
    case 'freebsd':
      return platform;
    case 'win32':
      return 'windows';
    default:
      return 'other';
  }
}

/** PRETTY_NAME from /etc/os-release (e.g. "Debian GNU/Linux 12 (bookworm)"), else "Linux 6.1.0". */
export function osDescription(readOsRelease: () => string = () => readFileSync('/etc/os-release', 'utf8')): string {
  try {
    const m = /^PRETTY_NAME=(.*)$/m.exec(readOsRelease());
    const value = m?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2');
    if (value) return value.slice(0, 128);
  } catch {
    /* no os-release (macOS, BSD): fall through */
  }
  return `${os.type()} ${os.release()}`.slice(0, 128);
}

export interface HostFacts {
  hostname: string;
  os: string;
  arch: string;
  type: AgentType;
}

export function hostFacts(): HostFacts {
  return { hostname: os.hostname().slice(0, 255), os: osDescription(), arch: process.arch, type: agentType() };
}

export function defaultShell(env: NodeJS.ProcessEnv): string {
  return env.SHELL || '/bin/bash';
}
