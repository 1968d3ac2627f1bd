/** Runs: allowed roots, working directories, prompt files, the child environment, injection. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LIMITS } from '@rexec/shared';
import { isWithin, resolveAllowedRoots } from '../src/runs/confine.js';
import { allowedRootsSetting, maxRunsSetting } from '../src/runs/settings.js';
import { combined, LIMIT, runSetup } from './runs-fixture.js';

test('isWithin is a path-component prefix check', () => {
  assert.equal(isWithin('/home/a', '/home/a'), true);
  assert.equal(isWithin('/home/a/x/y', '/home/a'), true);
  assert.equal(isWithin('/home/ab', '/home/a'), false);
  assert.equal(isWithin('/home', '/home/a'), false);
  assert.equal(isWithin('/anything', '/'), true);
});

test('allowed roots: realpath, ~ expanded, missing / relative / file entries dropped with a warning', (t) => {
  const { dir, work, home } = runSetup(t);
  symlinkSync(work, join(dir, 'link-to-work'));
  writeFileSync(join(dir, 'file'), '');
  const r = resolveAllowedRoots([join(dir, 'link-to-work'), '~', join(dir, 'missing'), 'relative/dir', join(dir, 'file'), work], home);
  assert.deepEqual(r.roots, [work, home]);
  assert.equal(r.warnings.length, 3);
  assert.match(r.warnings.join('\n'), /missing does not exist; ignored/);
  assert.match(r.warnings.join('\n'), /"relative\/dir" is not an absolute path/);
  assert.match(r.warnings.join('\n'), /file is not a directory/);
});

test('settings: REXEC_AGENT_ALLOWED_ROOTS (colon-separated) > allowed_roots > working_dir > $HOME; max runs', () => {
  assert.deepEqual(allowedRootsSetting({ allowed_roots: ['/srv'], working_dir: '/w' }, { REXEC_AGENT_ALLOWED_ROOTS: '/a:/b::' }, '/h'), {
    roots: ['/a', '/b'],
    source: 'REXEC_AGENT_ALLOWED_ROOTS',
  });
  assert.deepEqual(allowedRootsSetting({ allowed_roots: ['/srv'], working_dir: '/w' }, {}, '/h').roots, ['/srv']);
  assert.deepEqual(allowedRootsSetting({ working_dir: '/w' }, { REXEC_AGENT_ALLOWED_ROOTS: '' }, '/h').roots, ['/w']);
  assert.deepEqual(allowedRootsSetting({}, {}, '/h'), { roots: ['/h'], source: 'home' });
  assert.equal(maxRunsSetting({}, {}), 16);
  assert.equal(maxRunsSetting({ max_runs: 4 }, {}), 4);
  assert.equal(maxRunsSetting({ max_runs: 4 }, { REXEC_AGENT_MAX_RUNS: '2' }), 2);
  assert.throws(() => maxRunsSetting({}, { REXEC_AGENT_MAX_RUNS: 'many' }), /REXEC_AGENT_MAX_RUNS must be a whole number/);
});

test('working directory: relative to the default, realpath reported; outside, via .., via a symlink, a sibling with the root as prefix: refused', LIMIT, async (t) => {
  const { dir, work, outside, sink, start, started } = runSetup(t);
  mkdirSync(join(work, 'sub'));
  symlinkSync(join(work, 'sub'), join(work, 'sub-link'));
  symlinkSync(outside, join(work, 'escape'));
  mkdirSync(`${work}2`);

  const inside = start({ command: 'pwd; printf %s "$WORKING_DIR"', cwd: 'sub-link' });
  assert.equal((await inside.result).status, 'completed');
  assert.equal(started(inside.id)!.cwd, join(work, 'sub'));
  assert.equal(combined(sink.frames, inside.id).toString(), `${join(work, 'sub')}\n${join(work, 'sub')}`);

  const abs = start({ command: 'true', cwd: join(work, 'sub') });
  assert.equal((await abs.result).status, 'completed');

  const refused: [string, RegExp][] = [
    [outside, new RegExp(`^working directory ${outside} is outside the allowed roots \\(${work}\\)$`)],
    ['../outside', new RegExp(`^working directory ${work}/\\.\\./outside \\(${outside}\\) is outside the allowed roots \\(${work}\\)$`)],
    ['sub/../../outside', /is outside the allowed roots/],
    ['escape', new RegExp(`^working directory ${work}/escape \\(${outside}\\) is outside the allowed roots`)],
    [`${work}2`, /is outside the allowed roots/],
    ['/etc', /^working directory \/etc is outside the allowed roots/],
    [join(dir, 'nonexistent-outside'), /is outside the allowed roots/], // no probing beyond the roots
    ['/', /is outside the allowed roots/],
  ];
  for (const [cwd, re] of refused) {
    const r = start({ command: `touch ${join(outside, 'ran')}`, cwd });
    const f = await r.result;
    assert.equal(f.status, 'failed', cwd);
    assert.equal(f.exitCode, null);
    assert.match(f.error ?? '', re, cwd);
    assert.equal(started(r.id), undefined, `no run_started for ${cwd}`);
  }
  assert.deepEqual(readdirSync(outside), [], 'nothing ran outside');
});

test('no usable roots: every run is refused', LIMIT, async (t) => {
  const { start } = runSetup(t, { allowedRoots: ['/nonexistent-root-for-rexec-test'] });
  const f = await start({ command: 'true' }).result;
  assert.equal(f.status, 'failed');
  assert.match(f.error!, /outside the allowed roots \(none configured\)/);
});

test('injection: PROMPT with quotes, backticks, $(...), ;, newlines arrives byte-exact and runs nothing', LIMIT, async (t) => {
  const { dir, sink, start } = runSetup(t);
  const pwned = join(dir, 'pwned');
  const prompt = `it's "quoted" \`touch ${pwned}1\` $(touch ${pwned}2) ; touch ${pwned}3\nline two && touch ${pwned}4 | $HOME \\ \\n %s %% ü€😀\n\n`;
  const r = start({ command: 'printf %s "$PROMPT"', env: { PROMPT: prompt, TASK: '$(touch x)' } });
  const f = await r.result;
  assert.equal(f.status, 'completed');
  assert.equal(combined(sink.frames, r.id).toString('utf8'), prompt);
  for (const n of [1, 2, 3, 4]) assert.equal(existsSync(`${pwned}${n}`), false, `pwned${n}`);
});

test('prompt file: read from inside the roots into $PROMPT; outside, via a symlink, too large, not a file: refused', LIMIT, async (t) => {
  const { work, outside, dir, sink, start, started } = runSetup(t);
  const text = `line 1 "$(touch ${join(dir, 'pwned')})"\n\`x\` ü\n`;
  mkdirSync(join(work, 'prompts'));
  writeFileSync(join(work, 'prompts', 'p.md'), text);
  const r = start({ command: 'printf %s "$PROMPT"', promptFile: 'prompts/p.md', env: { PROMPT: 'overridden by the file' } });
  assert.equal((await r.result).status, 'completed');
  assert.equal(combined(sink.frames, r.id).toString('utf8'), text);
  assert.equal(existsSync(join(dir, 'pwned')), false);

  writeFileSync(join(work, 'max.txt'), 'x'.repeat(LIMITS.maxPromptBytes));
  const max = start({ command: 'printf %s "$PROMPT" | wc -c', promptFile: join(work, 'max.txt') });
  assert.equal((await max.result).status, 'completed');
  assert.equal(combined(sink.frames, max.id).toString().trim(), String(LIMITS.maxPromptBytes));

  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside, 'secret.txt'), join(work, 'secret-link'));
  writeFileSync(join(work, 'big.txt'), 'x'.repeat(LIMITS.maxPromptBytes + 1));
  writeFileSync(join(work, 'nul.txt'), 'a\0b');
  const refused: [string, RegExp][] = [
    [join(outside, 'secret.txt'), /^prompt file .*secret\.txt is outside the allowed roots/],
    ['../outside/secret.txt', /is outside the allowed roots/],
    ['secret-link', new RegExp(`^prompt file ${work}/secret-link \\(${outside}/secret\\.txt\\) is outside the allowed roots`)],
    ['big.txt', new RegExp(`^prompt file big\\.txt is too large \\(${LIMITS.maxPromptBytes + 1} bytes; at most ${LIMITS.maxPromptBytes}\\)$`)],
    ['prompts', /^prompt file prompts is not a regular file$/],
    ['missing.md', /^prompt file missing\.md does not exist$/],
    ['nul.txt', /contains a NUL byte/],
  ];
  for (const [promptFile, re] of refused) {
    const x = start({ command: 'printf %s "$PROMPT"', promptFile });
    const f = await x.result;
    assert.equal(f.status, 'failed', promptFile);
    assert.match(f.error ?? '', re, promptFile);
    assert.equal(started(x.id), undefined);
  }
});

test('the child environment: inherited + requested + WORKING_DIR, never REXEC_*', LIMIT, async (t) => {
  const { work, sink, start } = runSetup(t, {
    env: { PATH: process.env.PATH, REXEC_TOKEN: 'rxa_secret', REXEC_HOST: 'h', REXEC_AGENT_ALLOWED_ROOTS: '/', KEEP: 'yes' },
  });
  const r = start({ command: 'env', env: { GREETING: 'hi', REXEC_API: 'from-relay', WORKING_DIR: '/not/this' } });
  await r.result;
  const out = combined(sink.frames, r.id).toString();
  assert.match(out, /^GREETING=hi$/m);
  assert.match(out, /^KEEP=yes$/m);
  assert.match(out, new RegExp(`^WORKING_DIR=${work}$`, 'm'));
  assert.doesNotMatch(out, /REXEC_/);
  assert.doesNotMatch(out, /rxa_secret/);
  const pty = start({ command: 'printf %s "$TERM"', pty: true });
  await pty.result;
  assert.equal(combined(sink.frames, pty.id).toString(), 'xterm-256color');
});
