/**
 * Template validation: the pure checks from @rexec/shared plus a real parse with `bash -n`
 * (the template is fed on stdin, never run).
 */
import { spawn } from 'node:child_process';
import { checkTemplate, type TemplateCheck, type ValidateTemplateResponse } from '@rexec/shared';

const BASH_TIMEOUT_MS = 5000;

export function bashSyntaxCheck(template: string): Promise<TemplateCheck> {
  return new Promise((resolve) => {
    const done = (ok: boolean, message: string, severity: TemplateCheck['severity'] = 'error') => resolve({ id: 'bash-syntax', ok, severity, message });
    let child;
    try {
      child = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
    } catch {
      return done(false, 'bash is not installed on the relay: syntax not checked', 'warning');
    }
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), BASH_TIMEOUT_MS);
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')).length > 4096 && child.kill('SIGKILL'));
    child.on('error', () => {
      clearTimeout(timer);
      done(false, 'bash is not installed on the relay: syntax not checked', 'warning');
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return done(true, 'parses with bash -n');
      const first = stderr.split('\n').find((l) => l.trim()) ?? 'syntax error';
      done(false, `bash -n: ${first.replace(/^bash: (line \d+: )?/, '').slice(0, 300)}`);
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(template);
  });
}

export async function validateTemplate(template: string, acknowledgeDangerous = false): Promise<ValidateTemplateResponse> {
  const checks = [...checkTemplate(template, { acknowledgeDangerous }), await bashSyntaxCheck(template)];
  return { valid: checks.every((c) => c.ok || c.severity === 'warning'), checks };
}
