/**
 * Built-in example profiles: one per agent type, each a create-profile input that passes
 * `checkTemplate` cleanly. Templates get $PROMPT and $WORKING_DIR as environment variables
 * (never spliced into the text), so each passes them as "$PROMPT" / "$WORKING_DIR".
 */
import type { CreateProfile } from '../api/runner.js';

/** A create-profile input with every field given (acknowledgeDangerous aside). */
export type BuiltinProfile = Required<Omit<CreateProfile, 'acknowledgeDangerous'>>;

const base = { defaultTimeout: 30, maxTimeout: 120, shell: '', enabled: true, pty: false };

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  {
    ...base,
    env: [],
    name: 'Claude Code',
    slug: 'claude-code',
    agentType: 'claude-code',
    icon: 'claude',
    // -p: print mode (one prompt, then exit); acceptEdits lets it change files without asking.
    invocationTemplate: 'cd "$WORKING_DIR" && claude -p "$PROMPT" --output-format text --permission-mode acceptEdits',
  },
  {
    ...base,
    env: [],
    name: 'Codex',
    slug: 'codex',
    agentType: 'codex',
    icon: 'openai',
    // exec: non-interactive; the workspace-write sandbox lets it edit files in the working directory.
    invocationTemplate: 'codex exec --cd "$WORKING_DIR" --skip-git-repo-check --sandbox workspace-write "$PROMPT"',
  },
  {
    ...base,
    env: [],
    name: 'OpenCode',
    slug: 'opencode',
    agentType: 'opencode',
    icon: 'opencode',
    invocationTemplate: 'cd "$WORKING_DIR" && opencode run "$PROMPT"',
  },
  {
    ...base,
    env: [],
    name: 'Gemini CLI',
    slug: 'gemini-cli',
    agentType: 'gemini-cli',
    icon: 'gemini',
    // -p: headless mode; auto_edit approves file edits (not shell commands).
    invocationTemplate: 'cd "$WORKING_DIR" && gemini -p "$PROMPT" --approval-mode auto_edit',
  },
  {
    ...base,
    env: [],
    name: 'Aider',
    slug: 'aider',
    agentType: 'aider',
    icon: 'aider',
    // --message: one instruction, then exit; changes are left uncommitted for review.
    invocationTemplate: 'cd "$WORKING_DIR" && aider --yes-always --no-auto-commits --no-pretty --message "$PROMPT"',
  },
  {
    ...base,
    env: [],
    name: 'Shell command',
    slug: 'shell',
    agentType: 'custom',
    icon: 'terminal',
    // The prompt itself is a shell command (the user's choice when picking this profile).
    invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"',
    defaultTimeout: 10,
    maxTimeout: 60,
  },
];
