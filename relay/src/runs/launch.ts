/**
 * Turns a run request into what will run: saved prompt + overrides, profile, agent, working
 * directory, timeout (capped by the profile), prompt variables filled, environment
 * (PROMPT, variables, profile variables with secrets opened) and the display command. Every
 * problem is a 4xx with a message that says what to change; nothing is stored here.
 */
import {
  displayCommand,
  ErrorCode,
  fillVariables,
  LIMITS,
  parseFileReference,
  promptVariableSchema,
  RexecError,
  type DryRunResponse,
  type RunnerSettings,
} from '@rexec/shared';
import type { z } from 'zod';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';
import { findUsableAgent } from '../agents/lookup.js';
import type { Principal } from '../auth/principal.js';
import type { LaunchSpec } from './run-engine.js';
import { findProfile, openEnv, storedEnv } from './profiles.js';
import { validateTemplate } from './template-validation.js';

export interface ResolveInput {
  promptId?: string | undefined;
  prompt?: string | undefined;
  type?: 'inline' | 'file-reference' | undefined;
  profile?: string | undefined;
  agent: string;
  workingDirectory?: string | undefined;
  timeout?: number | undefined;
  variables: Record<string, string>;
}

export interface ResolvedRun {
  dry: DryRunResponse;
  spec: LaunchSpec;
  row: {
    promptId: string | null;
    agentProfileId: string;
    agentId: string;
    agentName: string;
    promptContent: string;
    workingDirectory: string;
    command: string;
    pty: boolean;
    timeoutMinutes: number;
  };
}

const KILL_GRACE_MS = 5000;
const MASK = '********';
/** Everything a run hands its shell must fit one control message with room to spare. */
const MAX_ENV_BYTES = LIMITS.maxControlMessageBytes - 32 * 1024;

export async function resolveRun(prisma: PrismaClient, box: SecretBox, settings: RunnerSettings, req: ResolveInput, principal: Principal): Promise<ResolvedRun> {
  const saved = req.promptId ? await prisma.prompt.findUnique({ where: { id: req.promptId } }) : null;
  if (req.promptId && !saved) throw new RexecError(ErrorCode.NotFound, `no prompt with id ${req.promptId}`);

  const profileRef = req.profile ?? saved?.agentProfileId ?? undefined;
  if (!profileRef) throw new RexecError(ErrorCode.ValidationFailed, 'choose a profile: the prompt has none and the request names none');
  const profile = await findProfile(prisma, profileRef);
  if (!profile) throw new RexecError(ErrorCode.NotFound, `no profile "${profileRef}"`);
  if (!profile.enabled) throw new RexecError(ErrorCode.Conflict, `profile "${profile.name}" is disabled; enable it first`);

  const agent = await findUsableAgent(prisma, req.agent, principal);
  if (!agent) throw new RexecError(ErrorCode.NotFound, `no agent "${req.agent}"`);

  const content = req.prompt ?? saved!.content;
  const type = req.type ?? (req.prompt === undefined && saved?.type === 'file-reference' ? 'file-reference' : 'inline');
  const workingDirectory = req.workingDirectory ?? (saved?.workingDirectory || settings.defaultWorkingDirectory);
  const timeout = req.timeout ?? saved?.timeout ?? profile.defaultTimeout ?? settings.defaultTimeout;
  if (timeout > profile.maxTimeout) {
    throw new RexecError(ErrorCode.ValidationFailed, `timeout ${timeout} min exceeds profile "${profile.name}"'s maximum of ${profile.maxTimeout} min`);
  }

  const declared = (saved ? (promptVariableSchema.array().safeParse(saved.variables).data ?? []) : []) as z.infer<typeof promptVariableSchema>[];
  const env: Record<string, string> = {};
  let promptFile: string | undefined;
  if (type === 'file-reference') {
    const path = parseFileReference(content);
    if (!path) throw new RexecError(ErrorCode.ValidationFailed, 'a file-reference prompt is "@" followed by a path');
    promptFile = path;
  } else {
    const filled = fillVariables(content, req.variables, declared);
    // Only declared variables are required: a prompt may contain other {{...}} text (e.g. templates in code).
    filled.missing = filled.missing.filter((name) => declared.some((d) => d.name === name));
    if (filled.missing.length) throw new RexecError(ErrorCode.ValidationFailed, `the prompt needs values for: ${filled.missing.join(', ')}`, { details: { missing: filled.missing } });
    if (Buffer.byteLength(filled.text) > LIMITS.maxPromptBytes) {
      throw new RexecError(ErrorCode.PayloadTooLarge, `the prompt is ${Buffer.byteLength(filled.text)} bytes after filling variables; the limit is ${LIMITS.maxPromptBytes}`);
    }
    env.PROMPT = filled.text;
  }
  // Variables also reach the shell by name (declared defaults first, request values win).
  for (const v of declared) if (v.default !== undefined) env[v.name] = v.default;
  for (const [name, value] of Object.entries(req.variables)) {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(name) || name === 'PROMPT' || name === 'WORKING_DIR') {
      throw new RexecError(ErrorCode.ValidationFailed, `variable name "${name}" is not allowed (upper case letters, digits and "_"; not PROMPT or WORKING_DIR)`);
    }
    env[name] = value;
  }
  const profileEnv = openEnv(storedEnv(profile), box);
  Object.assign(env, profileEnv.env);
  const envBytes = Object.entries(env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, 0);
  if (envBytes > MAX_ENV_BYTES) {
    throw new RexecError(ErrorCode.PayloadTooLarge, `the prompt and variables add up to ${envBytes} bytes; the limit is ${MAX_ENV_BYTES}`);
  }

  const validation = await validateTemplate(profile.invocationTemplate, true);
  const failed = validation.checks.filter((c) => !c.ok && c.severity === 'error');
  if (failed.length) throw new RexecError(ErrorCode.ValidationFailed, `profile "${profile.name}" has an invalid template: ${failed.map((c) => c.message).join('; ')}`);

  const shown: Record<string, string> = { ...env, ...(workingDirectory ? { WORKING_DIR: workingDirectory } : {}) };
  for (const name of profileEnv.secretNames) shown[name] = MASK;
  if (promptFile) shown.PROMPT = `<contents of ${promptFile}>`;
  const command = displayCommand(profile.invocationTemplate, shown);
  const timeoutMs = Math.round(timeout * 60_000);

  const spec: LaunchSpec = {
    command: profile.invocationTemplate,
    ...(profile.shell ? { shell: profile.shell } : {}),
    ...(workingDirectory ? { cwd: workingDirectory } : {}),
    env,
    ...(promptFile ? { promptFile } : {}),
    pty: profile.pty,
    cols: 200,
    rows: 50,
    timeoutMs,
    killGraceMs: KILL_GRACE_MS,
    maxOutputBytes: settings.outputCapBytes,
  };
  const maskedEnv = { ...env };
  for (const name of profileEnv.secretNames) maskedEnv[name] = MASK;
  return {
    spec,
    dry: {
      dryRun: true,
      command,
      template: profile.invocationTemplate,
      shell: profile.shell || agent.shell,
      workingDirectory,
      env: maskedEnv,
      timeoutMinutes: timeout,
      pty: profile.pty,
      checks: validation.checks,
    },
    row: {
      promptId: saved?.id ?? null,
      agentProfileId: profile.id,
      agentId: agent.id,
      agentName: agent.name,
      promptContent: content,
      workingDirectory,
      command,
      pty: profile.pty,
      timeoutMinutes: timeout,
    },
  };
}
