import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEMPLATE_CHECK_IDS,
  checkTemplate,
  displayCommand,
  fillVariables,
  parseFileReference,
  referencedVariables,
  shellQuote,
  templateErrors,
  type TemplateCheck,
} from '../src/index.js';

const check = (template: string, id: string, opts: { acknowledgeDangerous?: boolean } = {}): TemplateCheck => {
  const c = checkTemplate(template, opts).find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  return c;
};
const ok = (template: string, id: string) => check(template, id).ok;
const hasBash = spawnSync('bash', ['-c', 'exit 0']).status === 0;

// ---- shape ---------------------------------------------------------------------------------------

test('checkTemplate returns one entry per check, in a stable order, for any input', () => {
  assert.deepEqual([...TEMPLATE_CHECK_IDS], ['prompt-present', 'quotes-balanced', 'substitutions-closed', 'dangerous-patterns', 'working-dir-used']);
  for (const t of ['', 'claude -p "$PROMPT"', '"', '$(', 'rm -rf /', '\\', '$', '${', '`', ')))', '\0\x1b']) {
    const checks = checkTemplate(t);
    assert.deepEqual(checks.map((c) => c.id), [...TEMPLATE_CHECK_IDS], JSON.stringify(t));
    for (const c of checks) {
      assert.equal(typeof c.message, 'string');
      assert.ok(c.message.length > 0, 'c.message.length > 0');
    }
    assert.equal(checks.find((c) => c.id === 'working-dir-used')!.severity, 'warning');
    for (const id of ['prompt-present', 'quotes-balanced', 'substitutions-closed', 'dangerous-patterns']) {
      assert.equal(checks.find((c) => c.id === id)!.severity, 'error');
    }
  }
});

test('a good template passes every check', () => {
  for (const t of [
    'cd "$WORKING_DIR" && claude -p "$PROMPT" --output-format text',
    'codex exec --cd "$WORKING_DIR" "$PROMPT"',
    'cd "${WORKING_DIR}" && aider --yes-always --message "${PROMPT}"',
  ]) {
    const checks = checkTemplate(t);
    assert.deepEqual(checks.filter((c) => !c.ok), [], t);
    assert.deepEqual(templateErrors(checks), []);
  }
});

// ---- prompt-present ------------------------------------------------------------------------------

test('prompt-present: $PROMPT must be used outside single quotes', () => {
  const present = [
    'claude -p "$PROMPT"',
    'claude -p "${PROMPT}"',
    'claude -p $PROMPT',
    'x "$(printf %s "$PROMPT")"',
    'x `echo $PROMPT`',
    'x "${PROMPT:-fallback}"',
    'x "${PROMPT:0:100}"',
    "x \"'$PROMPT'\"", // single quotes inside double quotes are literal: $PROMPT still expands
    'x $\'a\' "$PROMPT"',
    'aider --message "$(cat <<EOF\nDo this: $PROMPT\nEOF\n)"',
    'cat <<-EOF | x\n\t$PROMPT\n\tEOF',
    'x # comment\n"$PROMPT"',
  ];
  for (const t of present) assert.ok(ok(t, 'prompt-present'), JSON.stringify(t));
  const absent = [
    "claude -p '$PROMPT'",
    "claude -p 'the ${PROMPT}'",
    'claude -p \\$PROMPT',
    'claude -p "\\$PROMPT"',
    'claude -p "$PROMPT_FILE"',
    'claude -p "$PROMPTS"',
    'claude -p "${#PROMPT}"',
    'claude -p "${!PROMPT}"',
    'claude # -p "$PROMPT"',
    "cat <<'EOF'\n$PROMPT\nEOF",
    'cat <<"EOF"\n$PROMPT\nEOF',
    'cat <<\\EOF\n$PROMPT\nEOF',
    'claude -p "PROMPT"',
    '',
  ];
  for (const t of absent) {
    const c = check(t, 'prompt-present');
    assert.equal(c.ok, false, JSON.stringify(t));
    assert.match(c.message, /\$PROMPT/);
  }
});

// ---- quotes-balanced -----------------------------------------------------------------------------

test('quotes-balanced: accepts closed quotes, escapes and nesting', () => {
  for (const t of [
    `x "it's"`,
    `x 'say "hi"'`,
    `x "a \\"quoted\\" word"`,
    `x 'back\\'`, // a backslash is literal inside single quotes
    `x it\\'s`,
    `x $'it\\'s'`,
    `x "$(echo "inner "quoted" text")"`,
    `x "$(echo 'single' "double $(echo "deeper")")"`,
    `x "\${VAR:-"default"}"`,
    `aider --message "$(cat <<EOF\nDon't stop; it's "fine"\nEOF\n)"`,
    `x # it's a comment`,
    `x "multi\nline" 'also\nmulti'`,
    `x \`echo "a"\``,
  ]) {
    const c = check(t, 'quotes-balanced');
    assert.ok(c.ok, `${JSON.stringify(t)}: ${c.message}`);
  }
});

test('quotes-balanced: reports an unclosed quote with its position', () => {
  const cases: [string, RegExp][] = [
    [`claude -p "$PROMPT`, /double quote opened at line 1, column 11/],
    [`claude -p '$PROMPT`, /single quote opened at line 1, column 11/],
    [`x "a \\"`, /double quote/],
    [`x $'it\\'s`, /\$' quote/],
    [`cd "$WORKING_DIR" &&\nclaude -p "it's`, /line 2, column 11/],
    [`x "$(echo 'unclosed)"`, /single quote/],
    [`x "$(echo ")"`, /double quote/],
    [`'`, /single quote/],
    [`"`, /double quote/],
  ];
  for (const [t, re] of cases) {
    const c = check(t, 'quotes-balanced');
    assert.equal(c.ok, false, JSON.stringify(t));
    assert.match(c.message, re, JSON.stringify(t));
  }
});

// ---- substitutions-closed ------------------------------------------------------------------------

test('substitutions-closed: accepts closed $(, ${, $((, backticks and subshells', () => {
  for (const t of [
    'x "$(date)"',
    'x $(echo $(echo $(echo deep)))',
    'x "$(echo ")")"',
    'x $(echo "(")',
    'x ${HOME} ${X:-${Y:-z}}',
    'x "${X:-$(echo })}"',
    'x $((1 + (2 * 3))) $((1<<2))',
    'x `date` `echo \\`nested\\``',
    '(cd "$WORKING_DIR" && x) | tee log',
    'f() { x; }; f',
    'x $(case "$A" in a) echo a;; *) echo b;; esac)',
    'case "$A" in\n  a) x;;\n  (b) y;;\nesac',
    'x # a comment with ) and $( and `',
    'diff <(echo a) >(cat)',
    'a=(1 2 3); x "${a[@]}"',
    'x "$(cat <<EOF\n) ( \\` text\nEOF\n)"',
    "x \"$(cat <<'EOF'\n) ( ` $( all literal\nEOF\n)\"",
  ]) {
    const c = check(t, 'substitutions-closed');
    assert.ok(c.ok, `${JSON.stringify(t)}: ${c.message}`);
  }
});

test('substitutions-closed: reports unclosed openers and stray closers', () => {
  const cases: [string, RegExp][] = [
    ['x $(date', /command substitution "\$\(" opened at line 1, column 3 is never closed/],
    ['x "$(date"', /command substitution/],
    ['x ${HOME', /"\$\{" opened/],
    ['x `date', /backtick/],
    ['(cd x && y', /subshell/],
    ['x $((1 + 2', /"\$\(\(" opened/],
    ['x )', /"\)" at line 1, column 3 closes nothing/],
    ['x $(date))', /closes nothing/],
    ['x <(echo', /process substitution/],
    ['x "$(cat <<EOF\nbody\n)"', /never closed/], // the heredoc never ends, so neither does $(
  ];
  for (const [t, re] of cases) {
    const c = check(t, 'substitutions-closed');
    assert.equal(c.ok, false, JSON.stringify(t));
    assert.match(c.message, re, JSON.stringify(t));
  }
});

test('deep nesting and huge templates fail cleanly and fast', () => {
  const started = Date.now();
  const deep = '$('.repeat(100_000);
  assert.match(check(deep, 'substitutions-closed').message, /nested more than/);
  assert.equal(check('"$('.repeat(50_000), 'substitutions-closed').ok, false);
  assert.equal(check('${'.repeat(50_000), 'substitutions-closed').ok, false);
  assert.equal(check(')'.repeat(64 * 1024), 'substitutions-closed').ok, false);
  assert.equal(check("'".repeat(64 * 1024 + 1), 'quotes-balanced').ok, false);
  assert.ok(check('claude -p "$PROMPT" '.repeat(3000), 'prompt-present').ok, 'check(\'claude -p "$PROMPT" \'.repeat(3000), \'prompt-present\').ok');
  for (const t of ['sh '.repeat(20_000), ':(){ '.repeat(10_000), 'rm -rf '.repeat(10_000), '<<EOF\n'.repeat(10_000), '\\'.repeat(64 * 1024)]) {
    assert.equal(checkTemplate(t).length, TEMPLATE_CHECK_IDS.length);
  }
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test('quote and substitution checks agree with bash -n', { skip: !hasBash && 'bash not available' }, () => {
  const templates = [
    'claude -p "$PROMPT"',
    'claude -p "$PROMPT',
    "x 'a",
    'x "$(echo "a)"',
    'x $(echo',
    'x ${A',
    'x `echo',
    'x )',
    'x "$(echo ")")"',
    'x $(case a in a) echo;; esac)',
    "aider --message \"$(cat <<EOF\nit's $PROMPT\nEOF\n)\"",
    "x $'it\\'s'",
    'x "${A:-"b"}"',
    'x # )',
    'x $((1<<2))',
    '(cd x; y',
    'f() { x; }',
    'x <(y',
    'x "\\"',
    "x 'back\\'",
  ];
  for (const t of templates) {
    const bashOk = spawnSync('bash', ['-n', '-c', t]).status === 0;
    const ours = ok(t, 'quotes-balanced') && ok(t, 'substitutions-closed');
    assert.equal(ours, bashOk, JSON.stringify(t));
  }
});

// ---- dangerous-patterns --------------------------------------------------------------------------

const DANGEROUS = [
  'rm -rf /',
  'rm -rf /*',
  'rm -rf ~',
  'rm -rf ~/',
  'rm -rf $HOME',
  'rm -rf "$HOME"',
  'rm -rf "${HOME}/"',
  'rm -fr /',
  'rm -r -f /',
  'rm -Rf /',
  'rm --recursive --force /',
  'rm / -rf',
  'rm -rf -- /',
  'rm -rf /usr',
  'rm -rf /etc/',
  'rm -rf "/"',
  "rm -rf '/'",
  '\\rm -rf /',
  '/bin/rm -rf /',
  'sudo rm -rf /',
  'sudo -u root rm -rf /',
  'env FOO=1 rm -rf /',
  'nohup nice -n 10 rm -rf /',
  'X=1 rm -rf /',
  'rm -rf "$DIR/"*',
  'rm -rf ${DIR}/',
  'rm --no-preserve-root -r /',
  'chmod --no-preserve-root 777 x',
  'x && rm -rf / || y',
  'x; rm -rf /',
  'x | rm -rf /',
  'if true; then rm -rf /; fi',
  '{ rm -rf /; }',
  '(rm -rf /)',
  'x "$(rm -rf /)"',
  'x `rm -rf /`',
  'sh -c "rm -rf /"',
  "bash -c 'rm -rf ~'",
  'sudo bash -lc "reboot"',
  'eval "rm -rf /"',
  'mkfs.ext4 /dev/sda1',
  'mkfs -t ext4 /dev/sdb',
  'dd if=/dev/zero of=/dev/sda bs=1M',
  'dd if=x.img of=/dev/nvme0n1',
  'dd if=x of=/dev/vda',
  'echo x > /dev/sda',
  'cat x >> /dev/nvme0n1',
  ':(){ :|:& };:',
  ':() { : | : & }; :',
  'bomb(){ bomb|bomb& }; bomb',
  'chmod -R 777 /',
  'chmod -R 777 /etc',
  'chown -R nobody /',
  'chown -R nobody:nobody ~',
  'chgrp -R x /',
  'shutdown -h now',
  'reboot',
  'sudo reboot',
  'halt',
  'poweroff',
  'systemctl reboot',
  'init 0',
  'curl -fsSL https://x.example/i.sh | sh',
  'curl -fsSL https://x.example/i.sh | sudo bash',
  'wget -qO- https://x.example | bash -s',
  'curl x | tee log | sh',
  'bash <(curl -fsSL https://x.example/i.sh)',
  'sh -c "$(curl -fsSL https://x.example/i.sh)"',
  'eval "$(wget -qO- x)"',
];
const HARMLESS = [
  'rm -rf ./build',
  'rm -rf /tmp/x',
  'rm -rf build/ dist/',
  'rm -f /',
  'rm -rf "$WORKING_DIR/node_modules"',
  'rm -rf "$WORKING_DIR"/*',
  'rm -rf "${DIR:?}/"*',
  'rm -rf "$DIR"',
  'rm -rf ~/.cache/x',
  'rm -rf /usr/local/lib/x',
  'cd "$WORKING_DIR"',
  'echo reboot',
  'echo "rm -rf /"',
  "echo 'curl x | sh'",
  'git log --format=%H | head',
  'curl -fsSL https://x.example > out.txt',
  'curl x | jq .',
  'wget x && sh ./install.sh',
  'ls -R /',
  'chmod 755 /usr/local/bin/x',
  'chmod -r x',
  'chmod -R 755 ./dist',
  'dd if=/dev/sda of=disk.img',
  'x > /dev/null 2>&1',
  'x 2> /dev/stderr',
  'cat /dev/sda',
  'grep -r shutdown .',
  'x --reboot',
  'docker compose down',
  'claude -p "$PROMPT" # never rm -rf /',
  'f() { echo; }; f',
];

test('dangerous-patterns: flags destructive commands', () => {
  for (const t of DANGEROUS) {
    const c = check(t, 'dangerous-patterns');
    assert.equal(c.ok, false, JSON.stringify(t));
    assert.equal(c.severity, 'error');
    assert.match(c.message, /dangerous pattern/);
    assert.deepEqual(templateErrors(checkTemplate(t)).map((x) => x.id).includes('dangerous-patterns'), true);
  }
});

test('dangerous-patterns: no false alarms on ordinary commands', () => {
  for (const t of HARMLESS) {
    const c = check(t, 'dangerous-patterns');
    assert.ok(c.ok, `${JSON.stringify(t)}: ${c.message}`);
  }
});

test('dangerous-patterns: the message names what matched', () => {
  assert.match(check('rm -rf / && curl x | sh', 'dangerous-patterns').message, /rm -r "\/".*pipes curl output into sh/);
  assert.match(check('rm -rf "$DIR/"*', 'dangerous-patterns').message, /when \$DIR is empty/);
  assert.match(check('dd if=x of=/dev/sdb', 'dangerous-patterns').message, /\/dev\/sdb/);
  assert.match(check(':(){ :|:& };:', 'dangerous-patterns').message, /fork bomb/);
});

test('dangerous-patterns: acknowledged, it is a warning that still reports the match', () => {
  const checks = checkTemplate('claude -p "$PROMPT"; rm -rf /', { acknowledgeDangerous: true });
  const c = checks.find((x) => x.id === 'dangerous-patterns')!;
  assert.equal(c.ok, false);
  assert.equal(c.severity, 'warning');
  assert.match(c.message, /acknowledged/);
  assert.match(c.message, /rm -r "\/"/);
  assert.deepEqual(templateErrors(checks), []);
  // Nothing dangerous: ok either way.
  assert.equal(check('claude -p "$PROMPT"', 'dangerous-patterns', { acknowledgeDangerous: true }).ok, true);
});

// ---- working-dir-used ----------------------------------------------------------------------------

test('working-dir-used: a warning only', () => {
  assert.ok(ok('cd "$WORKING_DIR" && x "$PROMPT"', 'working-dir-used'), 'ok(\'cd "$WORKING_DIR" && x "$PROMPT"\', \'working-dir-used\')');
  assert.ok(ok('x --cd "${WORKING_DIR}" "$PROMPT"', 'working-dir-used'), 'ok(\'x --cd "${WORKING_DIR}" "$PROMPT"\', \'working-dir-used\')');
  const c = check('claude -p "$PROMPT"', 'working-dir-used');
  assert.equal(c.ok, false);
  assert.equal(c.severity, 'warning');
  assert.deepEqual(templateErrors(checkTemplate('claude -p "$PROMPT"')), []);
  assert.equal(ok("cd '$WORKING_DIR' && x \"$PROMPT\"", 'working-dir-used'), false);
});

test('templateErrors keeps failed error checks only', () => {
  const checks: TemplateCheck[] = [
    { id: 'a', ok: false, severity: 'error', message: 'x' },
    { id: 'b', ok: false, severity: 'warning', message: 'x' },
    { id: 'c', ok: true, severity: 'error', message: 'x' },
  ];
  assert.deepEqual(templateErrors(checks).map((c) => c.id), ['a']);
  assert.deepEqual(
    templateErrors(checkTemplate("claude -p '$PROMPT")).map((c) => c.id),
    ['prompt-present', 'quotes-balanced'],
  );
});

// ---- displayCommand ------------------------------------------------------------------------------

test('shellQuote makes one single-quoted word', () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote('a b'), "'a b'");
});

test('displayCommand quotes values for where they stand', () => {
  const env = { PROMPT: `it's "x" $HOME \`id\` \\ end`, WORKING_DIR: '/srv/my app' };
  assert.equal(
    displayCommand('cd "$WORKING_DIR" && claude -p "$PROMPT"', env),
    'cd "/srv/my app" && claude -p "it\'s \\"x\\" \\$HOME \\`id\\` \\\\ end"',
  );
  assert.equal(displayCommand('cd $WORKING_DIR', env), "cd '/srv/my' 'app'");
  assert.equal(displayCommand('A=$WORKING_DIR x', env), "A='/srv/my app' x");
  assert.equal(displayCommand("echo '$PROMPT'", env), "echo '$PROMPT'");
  assert.equal(displayCommand('echo "${PROMPT}" ${WORKING_DIR}', { PROMPT: 'a', WORKING_DIR: 'b' }), `echo "a" 'b'`);
  assert.equal(displayCommand('echo "${PROMPT:-x}" $OTHER \\$PROMPT', { PROMPT: 'a' }), 'echo "${PROMPT:-x}" $OTHER \\$PROMPT');
  assert.equal(displayCommand('echo "$PROMPTX"', { PROMPT: 'a' }), 'echo "$PROMPTX"');
  assert.equal(displayCommand('cat <<EOF\n$PROMPT\nEOF', { PROMPT: 'a $b "c"' }), 'cat <<EOF\na \\$b "c"\nEOF');
  assert.equal(displayCommand("cat <<'EOF'\n$PROMPT\nEOF", { PROMPT: 'a' }), "cat <<'EOF'\n$PROMPT\nEOF");
  assert.equal(displayCommand('echo "${X:-$PROMPT}" $((PROMPT + 1)) $(($PROMPT))', { PROMPT: 'a' }), 'echo "${X:-$PROMPT}" $((PROMPT + 1)) $(($PROMPT))');
  assert.equal(displayCommand('echo $PROMPT', { PROMPT: '' }), 'echo ');
  assert.equal(displayCommand('echo $PROMPT', { PROMPT: 'a*b' }), 'echo a*b');
  assert.equal(displayCommand('echo $PROMPT', { PROMPT: 'x[!a-c].txt' }), 'echo x[!a-c].txt');
  assert.equal(displayCommand('echo $PROMPT', { PROMPT: "it's*.{c,h} x" }), "echo 'it'\\''s'*'.{c,h}' 'x'");
  assert.equal(displayCommand('', {}), '');
  assert.equal(displayCommand('x "$P" $P', Object.create({ P: 'inherited' }) as Record<string, string>), 'x "$P" $P');
});

test('displayCommand output run by bash does what the template does with the environment', { skip: !hasBash && 'bash not available' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rexec-display-'));
  try {
    writeFileSync(join(dir, 'a.txt'), '');
    writeFileSync(join(dir, 'b.txt'), '');
    const templates = [
      'printf "[%s]" "$PROMPT"',
      'printf "[%s]" $PROMPT',
      'printf "[%s]" x${PROMPT}y ${PROMPT}.txt',
      'printf "[%s]" "${PROMPT}" "$W"',
      "printf '[%s]' '$PROMPT' \"'$PROMPT'\"",
      'printf "[%s]" "$(printf "%s" "$PROMPT")"',
      'printf "[%s]" $(printf "%s" "$PROMPT")',
      'printf "[%s]" `printf "%s" "$PROMPT"`',
      'printf "[%s]" "`printf "%s" "$PROMPT"`"',
      'A=$PROMPT; printf "[%s]" "$A"',
      'export B=$PROMPT; printf "[%s]" "$B"',
      'cat <<EOF\n<$PROMPT>\nEOF',
      'printf "[%s]" "$(cat <<EOF\n$PROMPT and $W\nEOF\n)"',
      'case $PROMPT in *) printf "[%s]" "$PROMPT";; esac',
      '[[ $PROMPT == "$PROMPT" ]] && printf ok',
    ];
    const values = [
      'plain',
      "it's",
      'two  spaces\tand tab',
      ' lead and trail ',
      '"double" and \\back\\slash\\',
      '$HOME `id` $(id) ${X}',
      '*.txt',
      'a?.txt [ab].txt',
      'line 1\nline 2',
      '',
      '   ',
      'ünïcödé 🎉',
      "'",
      '\\',
      '!bang',
      "it's*",
      '[!a].txt -x* x-[a-b]*',
    ];
    // All templates in one script per value (each in a subshell, followed by a marker with its status).
    const script = (parts: string[]) => parts.map((t) => `(\n${t}\n)\nprintf '\\n@@%s@@\\n' "$?"`).join('\n');
    const run = (text: string, env: Record<string, string>) => {
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', text], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(r.stderr, '');
      return r.stdout.split(/\n@@\d+@@\n/).map((out, k) => `${out}|${/\n@@(\d+)@@\n/g.exec(r.stdout.slice(r.stdout.indexOf(out) + out.length))?.[1]}`);
    };
    for (const v of values) {
      const env = { PROMPT: v, W: `w:${v}` };
      const expected = run(script(templates), env);
      const shown = templates.map((t) => displayCommand(t, env));
      const actual = run(script(shown), {});
      assert.equal(expected.length, templates.length + 1);
      templates.forEach((t, k) => {
        assert.equal(actual[k], expected[k], `template ${JSON.stringify(t)} with ${JSON.stringify(v)} shown as ${JSON.stringify(shown[k])}`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- prompt variables ----------------------------------------------------------------------------

test('referencedVariables lists distinct {{NAME}} in order', () => {
  assert.deepEqual(referencedVariables('Fix {{ISSUE}} in {{ FILE }} (see {{ISSUE}}) {{lower}}'), ['ISSUE', 'FILE', 'lower']);
  assert.deepEqual(referencedVariables('no {{ }} {{1X}} {X} {{X-Y}} {{{A}}}'), ['A']);
  assert.deepEqual(referencedVariables(''), []);
});

test('fillVariables substitutes values, then defaults, and reports missing and unknown', () => {
  const r = fillVariables('Fix {{ISSUE}} in {{ FILE }} for {{WHO}}; again {{ISSUE}}; {{LATER}}', { ISSUE: '#42', EXTRA: 'x', DECLARED_UNUSED: 'y' }, [
    { name: 'ISSUE' },
    { name: 'FILE', default: 'main.ts' },
    { name: 'DECLARED_UNUSED' },
    { name: 'LATER' },
  ]);
  assert.equal(r.text, 'Fix #42 in main.ts for {{WHO}}; again #42; {{LATER}}');
  assert.deepEqual(r.missing, ['WHO', 'LATER']);
  assert.deepEqual(r.unknown, ['EXTRA']);
});

test('fillVariables inserts values literally, once', () => {
  const r = fillVariables('{{A}} {{B}}', { A: '{{B}}', B: '$1 $& $$ {{A}}' }, []);
  assert.equal(r.text, '{{B}} $1 $& $$ {{A}}');
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.unknown, []);
  // An empty value is a value; an empty default is a default.
  assert.equal(fillVariables('[{{A}}][{{B}}]', { A: '' }, [{ name: 'B', default: '' }]).text, '[][]');
  // Object prototype names are not values.
  const p = fillVariables('{{constructor}} {{toString}}', {}, []);
  assert.equal(p.text, '{{constructor}} {{toString}}');
  assert.deepEqual(p.missing, ['constructor', 'toString']);
  // Large input stays fast.
  const big = fillVariables('{{A}} '.repeat(100_000), { A: 'x' }, []);
  assert.equal(big.text.length, 200_000);
});

test('parseFileReference', () => {
  assert.equal(parseFileReference('@prompts/fix.md'), 'prompts/fix.md');
  assert.equal(parseFileReference('  @/abs/path with space.md \n'), '/abs/path with space.md');
  assert.equal(parseFileReference('@~/x'), '~/x');
  for (const bad of ['', '@', '@ x', 'x @y', 'prompts/fix.md', '@a\nb', '  @  ']) assert.equal(parseFileReference(bad), null, JSON.stringify(bad));
});
