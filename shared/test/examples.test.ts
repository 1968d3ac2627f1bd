import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_TYPES, BUILTIN_PROFILES, checkTemplate, createProfileSchema, displayCommand, slugSchema } from '../src/index.js';

const hasBash = spawnSync('bash', ['-c', 'exit 0']).status === 0;

test('one built-in profile per agent type', () => {
  assert.deepEqual(BUILTIN_PROFILES.map((p) => p.agentType).sort(), [...AGENT_TYPES].sort());
});

test('built-in profiles are valid create-profile inputs with unique, valid slugs', () => {
  const slugs = new Set<string>();
  for (const p of BUILTIN_PROFILES) {
    const parsed = createProfileSchema.safeParse(p);
    assert.ok(parsed.success, `${p.slug}: ${parsed.success ? '' : parsed.error.message}`);
    assert.ok(slugSchema.safeParse(p.slug).success, p.slug);
    assert.ok(!slugs.has(p.slug), `duplicate slug ${p.slug}`);
    slugs.add(p.slug);
    assert.equal(p.shell, '');
    assert.deepEqual(p.env, []);
    assert.equal(p.enabled, true);
    assert.equal(typeof p.pty, 'boolean');
    assert.ok(p.icon.length > 0 && p.icon.length <= 64, 'p.icon.length > 0 && p.icon.length <= 64');
    assert.ok(p.defaultTimeout <= p.maxTimeout, 'p.defaultTimeout <= p.maxTimeout');
  }
  // Each has its own env array (no shared mutable default).
  assert.equal(new Set(BUILTIN_PROFILES.map((p) => p.env)).size, BUILTIN_PROFILES.length);
});

test('every built-in template passes every check', () => {
  for (const p of BUILTIN_PROFILES) {
    const failed = checkTemplate(p.invocationTemplate).filter((c) => !c.ok);
    assert.deepEqual(failed, [], `${p.slug}: ${p.invocationTemplate}`);
  }
});

test('built-in templates pass the prompt as one argument, never as shell text', { skip: !hasBash && 'bash not available' }, () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-examples-')));
  try {
    // Stand-ins for the CLIs: print the working directory and each argument.
    const stubs = ['claude', 'codex', 'opencode', 'gemini', 'aider']
      .map((name) => `${name}() { printf 'cwd=%s\\n' "$PWD"; printf '[%s]' "$@"; }`)
      .join('\n');
    const prompt = `it's a "test": $HOME; rm -rf / \`id\` $(id) {{X}}\nsecond line`;
    for (const p of BUILTIN_PROFILES.filter((x) => x.agentType !== 'custom')) {
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${stubs}\n${p.invocationTemplate}`], {
        cwd: '/',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PROMPT: prompt, WORKING_DIR: dir },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${p.slug}: ${r.stderr}`);
      assert.ok(r.stdout.includes(`[${prompt}]`), `${p.slug}: ${r.stdout}`);
      assert.ok(r.stdout.startsWith(`cwd=${dir}\n`) || r.stdout.includes(`[--cd][${dir}]`), `${p.slug}: ${r.stdout}`);
      // The display form names the same values.
      assert.ok(displayCommand(p.invocationTemplate, { PROMPT: 'hello', WORKING_DIR: dir }).includes(`"${dir}"`), 'displayCommand(p.invocationTemplate, { PROMPT: \'hello\', WORKING_DIR: dir }).includes(`"${dir}"`)');
    }
    // The custom profile runs the prompt as a shell command, in the working directory.
    const custom = BUILTIN_PROFILES.find((x) => x.agentType === 'custom')!;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', custom.invocationTemplate], {
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PROMPT: 'echo "ran in $PWD"', WORKING_DIR: dir },
      encoding: 'utf8',
    });
    assert.equal(r.stdout, `ran in ${dir}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
