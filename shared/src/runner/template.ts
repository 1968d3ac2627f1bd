/**
 * Invocation templates and prompt text, without running anything:
 *
 * - `checkTemplate`: the static checks of a profile's template (is $PROMPT used, are quotes and
 *   substitutions closed, does it match a dangerous pattern, is $WORKING_DIR used). `bash -n`
 *   (the full syntax check) is done by the relay, not here.
 * - `displayCommand`: the template with its values shown in place, quoted, for display only. The
 *   real run never splices values into the text: they reach `bash -c template` as environment
 *   variables.
 * - `fillVariables` / `referencedVariables`: `{{NAME}}` placeholders of prompt text.
 * - `parseFileReference`: the path of a file-reference prompt (`@path`).
 *
 * All of it rests on a small shell-aware scanner (quotes, `$(`, `${`, `$((`, backticks, `(`
 * subshells, heredocs, `#` comments) that is no full parser: it finds variable references and
 * their quoting, unclosed constructs, and simple commands (words after quote removal, with
 * expansions kept as written) for the dangerous-pattern check.
 */
import type { TemplateCheck } from '../api/runner.js';

// ---- scanner -------------------------------------------------------------------------------------

/**
 * How a reference is quoted, which decides how `displayCommand` shows its value:
 * plain: unquoted argument (split into fields and globbed by the shell); nosplit: unquoted where
 * the shell does not split (assignments, `[[ ]]`, `case WORD`); double: inside "..."; heredoc: in
 * the body of an unquoted heredoc; opaque: inside $(( )) or the word of a `${X:-word}`, where
 * quoting rules differ (never replaced for display).
 */
type RefContext = 'plain' | 'nosplit' | 'double' | 'heredoc' | 'opaque';

interface VariableRef {
  name: string;
  /** Offsets of the whole reference (`$NAME`, `${NAME}`, `${NAME:-x}`) in the scanned text. */
  start: number;
  end: number;
  context: RefContext;
  /** `$NAME` or `${NAME}` (no operator): the only forms `displayCommand` replaces. */
  simple: boolean;
  /** `${#NAME}` or `${!NAME}`: uses the name but not the value itself. */
  indirect: boolean;
  /** Backtick levels around the reference (each one unescapes \\, \` and \$ once more). */
  backticks: number;
}

interface SimpleCommand {
  /** Words after quote removal; expansions ($X, $(..), `..`) kept as written. */
  words: string[];
  redirects: { op: string; target: string }[];
}

interface ScanResult {
  refs: VariableRef[];
  quoteIssues: string[];
  substitutionIssues: string[];
  /** Commands grouped in pipelines (`a | b` is one pipeline of two commands). */
  pipelines: SimpleCommand[][];
}

const NAME_START = /[A-Za-z_]/;
const NAME_REST = /[A-Za-z0-9_]/;
const SPECIAL_PARAMETER = /[0-9?#@*!$-]/;
/** Words that may precede a command in the same simple command as far as this scanner sees. */
const RESERVED_WORDS = new Set(['{', '}', '!', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'time']);
const DECLARATION_BUILTINS = new Set(['export', 'local', 'declare', 'readonly', 'typeset']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const MAX_NESTING = 200;
const MAX_ISSUES = 5;

class TooDeep extends Error {}

class Scanner {
  private i = 0;
  private depth = 0;
  private backticks = 0;
  private pendingHeredocs: { delimiter: string; stripTabs: boolean; expand: boolean }[] = [];
  /** Set by the list scanner just before an unquoted `$`: whether that word is split. */
  private splitting = true;
  readonly result: ScanResult = { refs: [], quoteIssues: [], substitutionIssues: [], pipelines: [] };

  constructor(private readonly s: string) {}

  scan(): ScanResult {
    try {
      this.list('', 0, '');
    } catch (e) {
      if (!(e instanceof TooDeep)) throw e;
      this.report('substitutionIssues', () => `quotes and substitutions are nested more than ${MAX_NESTING} levels deep`);
    }
    return this.result;
  }

  private where(offset: number): string {
    let line = 1;
    let lineStart = 0;
    for (let k = this.s.indexOf('\n'); k !== -1 && k < offset; k = this.s.indexOf('\n', k + 1)) {
      line++;
      lineStart = k + 1;
    }
    return `line ${line}, column ${offset - lineStart + 1}`;
  }

  /** Records an issue (at most MAX_ISSUES per kind; positions are computed only for those). */
  private report(kind: 'quoteIssues' | 'substitutionIssues', message: () => string): void {
    if (this.result[kind].length < MAX_ISSUES) this.result[kind].push(message());
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING) throw new TooDeep();
  }

  /**
   * A command list: the whole template, or the inside of `$(`, `(`, `<(`/`>(` or backticks,
   * ending at `close` (')' or '`'; '' for the whole text). Collects simple commands.
   */
  private list(close: '' | ')' | '`', openAt: number, label: string): void {
    this.enter();
    const s = this.s;
    let pipeline: SimpleCommand[] = [];
    let cmd: SimpleCommand = { words: [], redirects: [] };
    let word: string | null = null;
    /** Whether `word` is an assignment, decided at its first `$` (cached: words can grow long). */
    let wordIsAssignment: boolean | null = null;
    let redirectOp: string | null = null;
    let openCases = 0;
    /** Whether every word of `cmd` so far is an assignment (`A=1 B=2 cmd`). */
    let onlyAssignments = true;
    const inCommandPosition = () => cmd.words.every((w) => RESERVED_WORDS.has(w));
    const endWord = () => {
      if (word === null) return;
      if (redirectOp !== null) {
        cmd.redirects.push({ op: redirectOp, target: word });
        redirectOp = null;
      } else {
        if (word === 'case' && inCommandPosition()) openCases++;
        if (word === 'esac' && inCommandPosition() && openCases > 0) openCases--;
        if (onlyAssignments && !ASSIGNMENT.test(word)) onlyAssignments = false;
        cmd.words.push(word);
      }
      word = null;
      wordIsAssignment = null;
    };
    const endCommand = (pipe: boolean) => {
      endWord();
      redirectOp = null;
      if (cmd.words.length > 0 || cmd.redirects.length > 0) pipeline.push(cmd);
      cmd = { words: [], redirects: [] };
      onlyAssignments = true;
      if (!pipe && pipeline.length > 0) {
        this.result.pipelines.push(pipeline);
        pipeline = [];
      }
    };
    const append = (text: string) => {
      word = (word ?? '') + text;
    };

    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === ')') endWord(); // first, so that a pending `esac` counts
      if (close !== '' && c === close && (close === '`' || openCases === 0)) {
        endCommand(false);
        this.i++;
        this.depth--;
        return;
      }
      switch (c) {
        case ' ':
        case '\t':
          endWord();
          this.i++;
          break;
        case '\n':
          endCommand(false);
          this.i++;
          this.heredocBodies();
          break;
        case ';':
          endCommand(false);
          this.i++;
          break;
        case '&':
          if (s[this.i + 1] === '>') {
            endWord();
            this.i += s[this.i + 2] === '>' ? 3 : 2;
            redirectOp = '&>';
          } else {
            endCommand(false);
            this.i++;
          }
          break;
        case '|':
          if (s[this.i + 1] === '|') {
            endCommand(false);
            this.i += 2;
          } else {
            endCommand(true);
            this.i += s[this.i + 1] === '&' ? 2 : 1;
          }
          break;
        case '<':
        case '>': {
          const start = this.i;
          const next = s[this.i + 1];
          if (next === '(') {
            // Process substitution: a word of its own whose commands are a list.
            endWord();
            this.i += 2;
            this.list(')', start, `process substitution "${c}("`);
            append(s.slice(start, this.i));
            break;
          }
          if (word !== null && /^\d+$/.test(word)) word = null; // `2>file`: the digits name a descriptor
          else endWord();
          this.i++;
          let op = c;
          if (c === '<' && next === '<' && s[this.i + 1] !== '<') {
            this.i++;
            this.heredocHeader();
            break;
          }
          while (this.i < s.length && op.length < 3 && '<>&|'.includes(s[this.i]!)) op += s[this.i++];
          redirectOp = op;
          break;
        }
        case '(':
          // Subshell, function definition `f()`, arithmetic command `((..))` or array `a=(..)`.
          endCommand(false);
          this.i++;
          this.list(')', this.i - 1, 'subshell "("');
          break;
        case ')':
          if (openCases > 0) endCommand(false); // a `case` pattern such as `a)`
          else this.report('substitutionIssues', () => `")" at ${this.where(this.i)} closes nothing`);
          this.i++;
          break;
        case '`':
          append(this.backtick());
          break;
        case "'":
          append(this.singleQuoted());
          break;
        case '"':
          append(this.doubleQuoted());
          break;
        case '\\':
          if (s[this.i + 1] === '\n') this.i += 2; // line continuation
          else {
            append(s[this.i + 1] ?? '\\');
            this.i += 2;
          }
          break;
        case '$': {
          const first = cmd.words[0];
          const declaration = first !== undefined && DECLARATION_BUILTINS.has(first);
          wordIsAssignment ??= word !== null && ASSIGNMENT.test(word);
          const isAssignment = wordIsAssignment && (declaration || onlyAssignments);
          this.splitting = !isAssignment && first !== '[[' && !(first === 'case' && cmd.words.length === 1);
          append(this.dollar('plain'));
          break;
        }
        case '#':
          if (word === null) {
            // A comment, up to (not including) the end of the line.
            const eol = s.indexOf('\n', this.i);
            this.i = eol === -1 ? s.length : eol;
          } else {
            append(c);
            this.i++;
          }
          break;
        default:
          append(c);
          this.i++;
      }
    }
    endCommand(false);
    if (close !== '') this.report('substitutionIssues', () => `${label} opened at ${this.where(openAt)} is never closed`);
    this.depth--;
  }

  /** `'...'`: literal up to the next single quote. Returns the text inside. */
  private singleQuoted(): string {
    const start = this.i;
    const end = this.s.indexOf("'", start + 1);
    if (end === -1) {
      this.report('quoteIssues', () => `single quote opened at ${this.where(start)} is never closed`);
      this.i = this.s.length;
      return this.s.slice(start + 1);
    }
    this.i = end + 1;
    return this.s.slice(start + 1, end);
  }

  /** `$'...'` (ANSI-C quoting): like single quotes, but backslash escapes apply. */
  private ansiCQuoted(): string {
    const start = this.i;
    this.i += 2;
    let text = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === "'") {
        this.i++;
        return text;
      }
      if (c === '\\') {
        text += this.s.slice(this.i, this.i + 2);
        this.i += 2;
      } else {
        text += c;
        this.i++;
      }
    }
    this.report('quoteIssues', () => `$' quote opened at ${this.where(start)} is never closed`);
    return text;
  }

  /** `"..."`: expansions apply, backslash escapes only \ " $ ` and newline. Returns the text inside. */
  private doubleQuoted(): string {
    this.enter();
    const s = this.s;
    const start = this.i++;
    let text = '';
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '"') {
        this.i++;
        this.depth--;
        return text;
      }
      if (c === '\\') {
        const n = s[this.i + 1];
        if (n !== undefined && '$`"\\\n'.includes(n)) {
          if (n !== '\n') text += n;
          this.i += 2;
        } else {
          text += c;
          this.i++;
        }
      } else if (c === '$') text += this.dollar('double');
      else if (c === '`') text += this.backtick();
      else {
        text += c;
        this.i++;
      }
    }
    this.report('quoteIssues', () => `double quote opened at ${this.where(start)} is never closed`);
    this.depth--;
    return text;
  }

  /** `` `...` ``: a command list. Returns it as written. */
  private backtick(): string {
    const start = this.i++;
    this.backticks++;
    this.list('`', start, 'backtick "`"');
    this.backticks--;
    return this.s.slice(start, this.i);
  }

  /** At a `$`: a parameter, `${..}`, `$(..)`, `$((..))`, `$'..'` or a literal `$`. Returns the text for the word. */
  private dollar(context: RefContext): string {
    const s = this.s;
    const start = this.i;
    const n = s[start + 1];
    if (n === '(') {
      if (s[start + 2] === '(') {
        this.i += 3;
        this.arithmetic(start);
      } else {
        this.i += 2;
        this.list(')', start, 'command substitution "$("');
      }
      return s.slice(start, this.i);
    }
    if (n === '{') {
      this.i += 2;
      this.braced(start, context);
      return s.slice(start, this.i);
    }
    if (n !== undefined && NAME_START.test(n)) {
      let end = start + 2;
      while (end < s.length && NAME_REST.test(s[end]!)) end++;
      this.addRef(s.slice(start + 1, end), start, end, context, true, false);
      this.i = end;
      return s.slice(start, end);
    }
    if (context === 'plain' && n === "'") return this.ansiCQuoted();
    if (context === 'plain' && n === '"') {
      this.i++; // $"..." (locale translation): a double-quoted string
      return this.doubleQuoted();
    }
    this.i += n !== undefined && SPECIAL_PARAMETER.test(n) ? 2 : 1;
    return s.slice(start, this.i);
  }

  private addRef(name: string, start: number, end: number, context: RefContext, simple: boolean, indirect: boolean): void {
    const ctx = context === 'plain' && !this.splitting ? 'nosplit' : context;
    this.result.refs.push({ name, start, end, context: ctx, simple, indirect, backticks: this.backticks });
  }

  /** `${...}` after the `${`: closed by the first `}` (braces do not nest); quotes and expansions inside. */
  private braced(start: number, context: RefContext): void {
    this.enter();
    const s = this.s;
    const bodyStart = this.i;
    const splitting = this.splitting;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '}') {
        const body = s.slice(bodyStart, this.i);
        this.i++;
        const m = /^([#!]?)([A-Za-z_][A-Za-z0-9_]*)/.exec(body);
        this.splitting = splitting;
        if (m) this.addRef(m[2]!, start, this.i, context, body === m[2], m[1] !== '');
        this.depth--;
        return;
      }
      if (c === '\\') this.i += 2;
      else if (c === "'") this.singleQuoted(); // bash honours these even inside "${..}"
      else if (c === '"') this.doubleQuoted();
      else if (c === '`') this.backtick();
      else if (c === '$') this.dollar('opaque');
      else this.i++;
    }
    this.report('substitutionIssues', () => `"\${" opened at ${this.where(start)} is never closed`);
    this.depth--;
  }

  /** `$((...))` after the `$((`: parentheses nest; expansions inside. */
  private arithmetic(start: number): void {
    this.enter();
    const s = this.s;
    let parens = 0;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '(') parens++;
      else if (c === ')') {
        if (parens > 0) parens--;
        else {
          this.i += s[this.i + 1] === ')' ? 2 : 1;
          this.depth--;
          return;
        }
      } else if (c === '\\') this.i++;
      else if (c === "'") {
        this.singleQuoted();
        continue;
      } else if (c === '"') {
        this.doubleQuoted();
        continue;
      } else if (c === '`') {
        this.backtick();
        continue;
      } else if (c === '$') {
        this.dollar('opaque');
        continue;
      }
      this.i++;
    }
    this.report('substitutionIssues', () => `"$((" opened at ${this.where(start)} is never closed`);
    this.depth--;
  }

  /** After `<<`: the delimiter word; the body is read after the end of the line. */
  private heredocHeader(): void {
    const s = this.s;
    let stripTabs = false;
    if (s[this.i] === '-') {
      stripTabs = true;
      this.i++;
    }
    while (s[this.i] === ' ' || s[this.i] === '\t') this.i++;
    let delimiter = '';
    let quoted = false;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (' \t\n;&|<>()'.includes(c)) break;
      if (c === "'" || c === '"') {
        quoted = true;
        const end = s.indexOf(c, this.i + 1);
        if (end === -1) {
          this.report('quoteIssues', () => `quote opened at ${this.where(this.i)} is never closed`);
          this.i = s.length;
          break;
        }
        delimiter += s.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '\\') {
        quoted = true;
        delimiter += s[this.i + 1] ?? '';
        this.i += 2;
      } else {
        delimiter += c;
        this.i++;
      }
    }
    if (delimiter !== '') this.pendingHeredocs.push({ delimiter, stripTabs, expand: !quoted });
  }

  /** After a newline in a command list: the bodies of heredocs started on that line. */
  private heredocBodies(): void {
    const docs = this.pendingHeredocs;
    this.pendingHeredocs = [];
    const s = this.s;
    for (const doc of docs) {
      let lineStart = true;
      while (this.i < s.length) {
        if (lineStart) {
          const eol = s.indexOf('\n', this.i);
          const lineEnd = eol === -1 ? s.length : eol;
          const line = doc.stripTabs ? s.slice(this.i, lineEnd).replace(/^\t+/, '') : s.slice(this.i, lineEnd);
          if (line === doc.delimiter) {
            this.i = eol === -1 ? s.length : eol + 1;
            break;
          }
          if (!doc.expand) {
            // Quoted delimiter: the body is literal.
            this.i = eol === -1 ? s.length : eol + 1;
            continue;
          }
          lineStart = false;
        }
        const c = s[this.i]!;
        if (c === '\n') {
          this.i++;
          lineStart = true;
        } else if (c === '\\') this.i += 2;
        else if (c === '$') this.dollar('heredoc');
        else if (c === '`') this.backtick();
        else this.i++;
      }
      // A body without its delimiter ends at the end of the text (bash only warns).
    }
  }
}

function scan(template: string): ScanResult {
  return new Scanner(template).scan();
}

// ---- dangerous patterns --------------------------------------------------------------------------

/** Top-level directories whose recursive removal (or chmod/chown) wrecks a system. */
const SYSTEM_DIRS = new Set([
  'bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'opt', 'proc', 'root', 'sbin', 'srv', 'sys', 'usr', 'var',
  'Applications', 'Library', 'System', 'Users',
]);
const BLOCK_DEVICE = /^\/dev\/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|md\d|dm-\d|mapper\/)/;
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish']);
/** `$(curl ..`, `` `wget ..``, `<(curl ..` in a word. */
const DOWNLOAD_SUBSTITUTION = /(?:<\(|\$\(|`)\s*(?:curl|wget)\b/;
const POWER_COMMANDS = new Set(['shutdown', 'reboot', 'halt', 'poweroff']);
const SYSTEMCTL_POWER = new Set(['reboot', 'poweroff', 'halt', 'kexec']);
/** Commands that run the command after their options (`sudo rm ...`). */
const WRAPPERS = new Set([
  'sudo', 'doas', 'env', 'nohup', 'exec', 'command', 'builtin', 'nice', 'ionice', 'stdbuf', 'setsid', 'timeout', 'xargs', 'time',
]);

const basename = (word: string) => word.slice(word.lastIndexOf('/') + 1);

/** The words of a command from its command name on (wrappers, assignments and keywords skipped). */
function commandArgv(words: string[]): string[] {
  let k = 0;
  while (k < words.length) {
    const w = words[k]!;
    if (RESERVED_WORDS.has(w) || ASSIGNMENT.test(w)) {
      k++;
      continue;
    }
    const name = basename(w);
    if (!WRAPPERS.has(name)) break;
    k++;
    while (k < words.length) {
      const a = words[k]!;
      if (a.startsWith('-') && a !== '-') {
        // Options of sudo/env/xargs that take a separate argument.
        const takesArgument = name === 'sudo' ? /^-[CDghprtTuU]$/ : name === 'env' ? /^-[uCS]$/ : name === 'xargs' ? /^-[IdEnLPs]$/ : null;
        k += takesArgument?.test(a) ? 2 : 1;
      } else if (/^\d+(\.\d+)?[smhd]?$/.test(a) || (name === 'env' && ASSIGNMENT.test(a))) k++; // `nice -n 10`, `timeout 5m`, `env A=1`
      else break;
    }
  }
  return words.slice(k);
}

/** Why removing (or chmod/chown -R of) this path is dangerous, or null. */
function criticalPath(target: string): string | null {
  let p = target.replace(/^(\$HOME|\$\{HOME\})(?=\/|$)/, '~');
  let note = '';
  const unset = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(?=\/)/.exec(p);
  if (unset) {
    const name = unset[1] ?? unset[2]!;
    // WORKING_DIR is always set by the agent (to a real directory), so it cannot expand to "".
    if (name === 'WORKING_DIR' || name === 'PWD') return null;
    p = p.slice(unset[0].length);
    note = ` (when $${name} is empty)`;
  }
  p = p.replace(/\/+/g, '/').replace(/(\/\.)+$/, '/').replace(/\/\*+$/, '/');
  if (p.length > 1) p = p.replace(/\/$/, '');
  if (p === '/' || p === '~' || /^~[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) return `"${target}"${note}`;
  if (p.startsWith('/') && SYSTEM_DIRS.has(p.slice(1))) return `"${target}"${note}`;
  return null;
}

/** Options of argv (up to `--`) and its other words. */
function splitOptions(args: string[]): { options: string[]; operands: string[] } {
  const options: string[] = [];
  const operands: string[] = [];
  let done = false;
  for (const a of args) {
    if (!done && a === '--') done = true;
    else if (!done && a.length > 1 && a.startsWith('-')) options.push(a);
    else operands.push(a);
  }
  return { options, operands };
}

const hasShortFlag = (options: string[], flag: string) => options.some((o) => !o.startsWith('--') && o.includes(flag));

const MAX_SCRIPT_DEPTH = 3;

/** Descriptions of the dangerous patterns in a template (empty: none). */
function dangerousPatterns(template: string, pipelines: SimpleCommand[][], depth = 0): string[] {
  const hits: string[] = [];
  const hit = (h: string) => {
    if (!hits.includes(h)) hits.push(h);
  };
  for (const pipeline of pipelines) {
    let downloader: string | null = null;
    for (const cmd of pipeline) {
      for (const r of cmd.redirects) if (r.op.includes('>') && BLOCK_DEVICE.test(r.target)) hit(`writes to the disk device ${r.target}`);
      const argv = commandArgv(cmd.words);
      const name = argv[0] === undefined ? '' : basename(argv[0]);
      const { options, operands } = splitOptions(argv.slice(1));
      if (argv.includes('--no-preserve-root')) hit('--no-preserve-root');
      if (name === 'curl' || name === 'wget') downloader = name;
      else if (SHELLS.has(name) && downloader !== null) hit(`pipes ${downloader} output into ${name}`);
      if ((SHELLS.has(name) || name === 'eval' || name === 'source' || name === '.') && argv.some((w) => DOWNLOAD_SUBSTITUTION.test(w))) {
        hit(`${name} runs a downloaded script`);
      }

      if (name === 'rm' && (hasShortFlag(options, 'r') || hasShortFlag(options, 'R') || options.includes('--recursive'))) {
        for (const t of operands) {
          const why = criticalPath(t);
          if (why) hit(`rm -r ${why}`);
        }
      } else if ((name === 'chmod' || name === 'chown' || name === 'chgrp') && (hasShortFlag(options, 'R') || options.includes('--recursive'))) {
        for (const t of operands.slice(1)) {
          const why = criticalPath(t);
          if (why) hit(`${name} -R ${why}`);
        }
      } else if (/^mkfs(\.\w+)?$/.test(name) || name === 'mke2fs' || name === 'wipefs') hit(`${name} (formats a file system)`);
      else if (name === 'dd') {
        for (const a of operands) if (a.startsWith('of=') && BLOCK_DEVICE.test(a.slice(3))) hit(`dd onto the disk device ${a.slice(3)}`);
      } else if (POWER_COMMANDS.has(name)) hit(`${name}`);
      else if (name === 'systemctl' && operands.some((a) => SYSTEMCTL_POWER.has(a))) hit(`systemctl ${operands.join(' ')}`);
      else if ((name === 'init' || name === 'telinit') && (operands[0] === '0' || operands[0] === '6')) hit(`${name} ${operands[0]}`);
      else if (depth < MAX_SCRIPT_DEPTH && (SHELLS.has(name) || name === 'eval' || name === 'su')) {
        // `sh -c "script"`, `su -c "script"`, `eval "script"`: look inside the script too.
        let script: string | undefined;
        if (name === 'eval') script = argv.slice(1).join(' ');
        else {
          const at = argv.findIndex((a, k) => k > 0 && /^-[A-Za-z]*c[A-Za-z]*$/.test(a));
          if (at > 0) script = argv.slice(at + 1).find((a) => !a.startsWith('-'));
        }
        if (script) for (const h of dangerousPatterns(script, scan(script).pipelines, depth + 1)) hit(h);
      }
    }
  }
  if (hasForkBomb(template)) hit('fork bomb');
  return hits;
}

/** `NAME(){ NAME|NAME& }` (the classic `:(){ :|:& };:`), found in linear time. */
function hasForkBomb(text: string): boolean {
  const header = /\(\s*\)\s*\{/g;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    let k = m.index;
    while (k > 0 && /\s/.test(text[k - 1]!)) k--;
    const nameEnd = k;
    while (k > 0 && nameEnd - k < 64 && /[\w:.-]/.test(text[k - 1]!)) k--;
    const name = text.slice(k, nameEnd);
    if (name === '') continue;
    const body = text.slice(header.lastIndex, header.lastIndex + 256);
    const close = body.indexOf('}');
    const inner = (close === -1 ? body : body.slice(0, close)).replace(/\s+/g, '');
    if (inner.includes(`${name}|${name}&`) || inner.includes(`${name}|${name};`)) return true;
  }
  return false;
}

// ---- checks --------------------------------------------------------------------------------------

/** Ids of the checks `checkTemplate` returns, in that order. */
export const TEMPLATE_CHECK_IDS = [
  'prompt-present',
  'quotes-balanced',
  'substitutions-closed',
  'dangerous-patterns',
  'working-dir-used',
] as const;
export type TemplateCheckId = (typeof TEMPLATE_CHECK_IDS)[number];

/**
 * The static checks of an invocation template, one entry per id of TEMPLATE_CHECK_IDS in that
 * order. Failed `error` checks refuse the template (see `templateErrors`). `dangerous-patterns`
 * has severity `error`, or `warning` when the user acknowledged it (then it still reports
 * ok:false with what matched). Dangerous commands are recognised in command position (after
 * `sudo`, `env`, `nohup`... and inside `sh -c` / `su -c` / `eval` strings), so `echo reboot`
 * or `echo "rm -rf /"` do not match; only the fork bomb is matched on the raw text, so it is
 * found even inside quotes.
 */
export function checkTemplate(template: string, opts: { acknowledgeDangerous?: boolean } = {}): TemplateCheck[] {
  const r = scan(template);
  const uses = (name: string) => r.refs.some((ref) => ref.name === name && !ref.indirect);
  const dangers = dangerousPatterns(template, r.pipelines);
  const acknowledged = opts.acknowledgeDangerous === true;
  return [
    uses('PROMPT')
      ? { id: 'prompt-present', ok: true, severity: 'error', message: 'the template passes $PROMPT' }
      : {
          id: 'prompt-present',
          ok: false,
          severity: 'error',
          message: 'the template never uses $PROMPT (outside single quotes), so the prompt would not reach the agent; pass it as "$PROMPT"',
        },
    r.quoteIssues.length === 0
      ? { id: 'quotes-balanced', ok: true, severity: 'error', message: 'quotes are balanced' }
      : { id: 'quotes-balanced', ok: false, severity: 'error', message: r.quoteIssues.join('; ') },
    r.substitutionIssues.length === 0
      ? { id: 'substitutions-closed', ok: true, severity: 'error', message: 'every $(, ${, backtick and ( is closed' }
      : { id: 'substitutions-closed', ok: false, severity: 'error', message: r.substitutionIssues.join('; ') },
    dangers.length === 0
      ? { id: 'dangerous-patterns', ok: true, severity: acknowledged ? 'warning' : 'error', message: 'no dangerous patterns found' }
      : acknowledged
        ? { id: 'dangerous-patterns', ok: false, severity: 'warning', message: `acknowledged dangerous pattern: ${dangers.join('; ')}` }
        : {
            id: 'dangerous-patterns',
            ok: false,
            severity: 'error',
            message: `dangerous pattern: ${dangers.join('; ')} (acknowledge it to save the template anyway)`,
          },
    uses('WORKING_DIR')
      ? { id: 'working-dir-used', ok: true, severity: 'warning', message: 'the template uses $WORKING_DIR' }
      : {
          id: 'working-dir-used',
          ok: false,
          severity: 'warning',
          message:
            'the template does not use $WORKING_DIR; runs start in the working directory anyway, ' +
            'but `cd "$WORKING_DIR" && ...` or a --cd flag makes it explicit',
        },
  ];
}

/** The failed checks that refuse a template (severity error). */
export function templateErrors(checks: TemplateCheck[]): TemplateCheck[] {
  return checks.filter((c) => !c.ok && c.severity === 'error');
}

// ---- display -------------------------------------------------------------------------------------

/** `value` as one single-quoted shell word: `it's` -> `'it'\''s'`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quoted unless made of characters that mean nothing to the shell (for glob words, where they read better bare). */
const quoteIfNeeded = (text: string) => (/^[A-Za-z0-9_.\/,:@%+-]+$/.test(text) ? text : shellQuote(text));

/** One field of an unquoted expansion: quoted, but with its glob characters left live. */
function globWord(field: string): string {
  if (!/[*?[]/.test(field)) return shellQuote(field);
  let out = '';
  let literal = '';
  for (let k = 0; k < field.length; k++) {
    const ch = field[k]!;
    // `-`, and `!` / `^` right after `[`, keep their meaning inside a bracket expression only unquoted.
    if ('*?[]-'.includes(ch) || ((ch === '!' || ch === '^') && field[k - 1] === '[')) {
      if (literal !== '') out += quoteIfNeeded(literal);
      literal = '';
      out += ch;
    } else literal += ch;
  }
  return literal === '' ? out : out + quoteIfNeeded(literal);
}

/** An unquoted expansion's value as the shell would see it: split on blanks, glob characters live. */
function splitWords(value: string): string {
  return value
    .split(/[ \t\n]+/)
    .map((f) => (f === '' ? '' : globWord(f)))
    .join(' ');
}

/**
 * For DISPLAY only: the template with `$NAME` / `${NAME}` (for names in env) replaced by their
 * values, quoted for where they stand, so that pasting the result into bash does what the run
 * does: unquoted -> single-quoted words (split on blanks and globbed like the shell would an
 * unquoted expansion; one word where the shell does not split); in "..." -> \ " $ ` escaped; in
 * an unquoted heredoc -> \ $ ` escaped; in '...' or a quoted heredoc nothing is replaced. Inside
 * backticks the result is escaped once more per level. `${NAME:-x}`-style references, references
 * inside their words and references in $(( )) are left as written.
 */
export function displayCommand(template: string, env: Record<string, string>): string {
  const refs = scan(template)
    .refs.filter((r) => r.simple && r.context !== 'opaque' && Object.hasOwn(env, r.name))
    .sort((a, b) => a.start - b.start);
  let out = '';
  let last = 0;
  for (const r of refs) {
    if (r.start < last) continue;
    const value = env[r.name]!;
    let shown =
      r.context === 'plain' ? splitWords(value)
      : r.context === 'nosplit' ? shellQuote(value)
      : r.context === 'double' ? value.replace(/[\\"$`]/g, '\\$&')
      : value.replace(/[\\$`]/g, '\\$&');
    for (let k = 0; k < r.backticks; k++) shown = shown.replace(/[\\$`]/g, '\\$&');
    out += template.slice(last, r.start) + shown;
    last = r.end;
  }
  return out + template.slice(last);
}

// ---- prompt text ---------------------------------------------------------------------------------

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The distinct names used as `{{NAME}}` (or `{{ NAME }}`) in prompt text, in order of first use. */
export function referencedVariables(content: string): string[] {
  return [...new Set(Array.from(content.matchAll(PLACEHOLDER), (m) => m[1]!))];
}

export interface FilledPrompt {
  text: string;
  /** Referenced names without a value or default (left as written in `text`). */
  missing: string[];
  /** Keys of `values` that are neither declared nor referenced. */
  unknown: string[];
}

/**
 * Replaces `{{NAME}}` in prompt text by `values[NAME]`, else the declared default. Values go in
 * literally, in one pass (a value containing `{{X}}` is not expanded again).
 */
export function fillVariables(
  content: string,
  values: Record<string, string>,
  declared: { name: string; default?: string }[],
): FilledPrompt {
  const defaults = new Map(declared.map((d) => [d.name, d.default]));
  const missing = new Set<string>();
  const referenced = new Set<string>();
  const text = content.replace(PLACEHOLDER, (whole, name: string) => {
    referenced.add(name);
    if (Object.hasOwn(values, name)) return values[name]!;
    const fallback = defaults.get(name);
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return whole;
  });
  const unknown = Object.keys(values).filter((k) => !defaults.has(k) && !referenced.has(k));
  return { text, missing: [...missing], unknown };
}

/** The path of a file-reference prompt (`@path`, surrounding blanks ignored), or null. */
export function parseFileReference(content: string): string | null {
  const m = /^@(\S[^\r\n]*)$/.exec(content.trim());
  return m ? m[1]!.trimEnd() : null;
}
