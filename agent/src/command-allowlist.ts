/**
 * The optional command allowlist (`command_allowlist` in the config file): regular expressions,
 * each matched against the WHOLE command text (anchored). When the list is set, an exec runs only
 * if its shell text (or its argv joined with spaces) matches one, and a run only if its profile's
 * invocation template matches one (template values arrive as environment variables, so the
 * template is the whole of what the shell is asked to run). Terminals are not affected.
 */
export class CommandAllowlist {
  private readonly patterns: RegExp[];

  constructor(readonly sources: readonly string[]) {
    this.patterns = sources.map((s) => {
      try {
        return new RegExp(`^(?:${s})$`, 's');
      } catch (err) {
        throw new Error(`command_allowlist: "${s}" is not a valid regular expression: ${(err as Error).message}`);
      }
    });
  }

  get active(): boolean {
    return this.patterns.length > 0;
  }

  /** Null when allowed, else the refusal message. */
  check(commandText: string): string | null {
    if (!this.active || this.patterns.some((p) => p.test(commandText))) return null;
    return `refused by this agent's command_allowlist: ${JSON.stringify(commandText.length > 200 ? commandText.slice(0, 200) + '…' : commandText)} matches none of its ${this.patterns.length} pattern(s)`;
  }
}

export const NO_ALLOWLIST = new CommandAllowlist([]);
