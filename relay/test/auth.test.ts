import { test } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { JwtSigner, JWT_ISSUER } from '../src/auth/jwt.js';
import { hashPassword, verifyPassword, DUMMY_PASSWORD_HASH } from '../src/auth/passwords.js';
import { hashSecret, newSecret } from '../src/auth/secrets.js';
import { originChecker } from '../src/config.js';
import { looksLikeSecret } from '@rexec/shared';

const secret = Buffer.from('k'.repeat(64));

test('session JWTs verify, and carry subject and password version', () => {
  const s = new JwtSigner(secret, 60);
  const { token } = s.sign({ sub: 'u1', pv: 2 });
  assert.deepEqual(s.verify(token), { sub: 'u1', pv: 2 });
});

test('JWT algorithm is pinned: alg none, other HMACs and foreign keys are refused', () => {
  const s = new JwtSigner(secret, 60);
  const none = jwt.sign({ sub: 'u1', pv: 0, iss: JWT_ISSUER }, '', { algorithm: 'none', expiresIn: 60 });
  assert.equal(s.verify(none), null);
  const hs512 = jwt.sign({ sub: 'u1', pv: 0 }, secret, { algorithm: 'HS512', expiresIn: 60, issuer: JWT_ISSUER });
  assert.equal(s.verify(hs512), null);
  const otherKey = jwt.sign({ sub: 'u1', pv: 0 }, 'other', { algorithm: 'HS256', expiresIn: 60, issuer: JWT_ISSUER });
  assert.equal(s.verify(otherKey), null);
});

test('JWTs without exp, expired past the leeway, or of another issuer are refused', () => {
  const s = new JwtSigner(secret, 60);
  const noExp = jwt.sign({ sub: 'u1', pv: 0 }, secret, { algorithm: 'HS256', issuer: JWT_ISSUER });
  assert.equal(s.verify(noExp), null);
  const expired = jwt.sign({ sub: 'u1', pv: 0, exp: Math.floor(Date.now() / 1000) - 30 }, secret, { algorithm: 'HS256', issuer: JWT_ISSUER });
  assert.equal(s.verify(expired), null);
  const withinLeeway = jwt.sign({ sub: 'u1', pv: 0, exp: Math.floor(Date.now() / 1000) - 2 }, secret, { algorithm: 'HS256', issuer: JWT_ISSUER });
  assert.deepEqual(s.verify(withinLeeway), { sub: 'u1', pv: 0 });
  const otherIss = jwt.sign({ sub: 'u1', pv: 0 }, secret, { algorithm: 'HS256', issuer: 'x', expiresIn: 60 });
  assert.equal(s.verify(otherIss), null);
});

test('passwords hash with scrypt and verify only the right password', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /^scrypt\$/);
  assert.ok(await verifyPassword('correct horse battery', h), 'await verifyPassword(\'correct horse battery\', h)');
  assert.ok(!(await verifyPassword('correct horse batterY', h)), '!(await verifyPassword(\'correct horse batterY\', h))');
  assert.ok(!(await verifyPassword('anything', DUMMY_PASSWORD_HASH)), '!(await verifyPassword(\'anything\', DUMMY_PASSWORD_HASH))');
  assert.ok(!(await verifyPassword('x', 'garbage')), '!(await verifyPassword(\'x\', \'garbage\'))');
});

test('secrets are recognisable, random, and stored only as SHA-256', () => {
  const a = newSecret('apiToken');
  const b = newSecret('agentCredential');
  assert.ok(looksLikeSecret(a.secret) && looksLikeSecret(b.secret), 'looksLikeSecret(a.secret) && looksLikeSecret(b.secret)');
  assert.match(a.secret, /^rxt_/);
  assert.match(b.secret, /^rxa_/);
  assert.notEqual(a.secret, newSecret('apiToken').secret);
  assert.equal(a.hash, hashSecret(a.secret));
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.ok(!a.hash.includes(a.secret.slice(4)), '!a.hash.includes(a.secret.slice(4))');
});

test('browser socket origins: the public URL, its loopback aliases, and configured extras only', () => {
  const ok = originChecker('http://127.0.0.1:8420', ['https://ops.example.com']);
  assert.ok(ok('http://127.0.0.1:8420'), 'ok(\'http://127.0.0.1:8420\')');
  assert.ok(ok('http://localhost:8420'), 'ok(\'http://localhost:8420\')');
  assert.ok(ok('https://ops.example.com'), 'ok(\'https://ops.example.com\')');
  assert.ok(!ok('http://127.0.0.1:9999'), '!ok(\'http://127.0.0.1:9999\')');
  assert.ok(!ok('https://evil.example'), '!ok(\'https://evil.example\')');
  assert.ok(!ok('null'), '!ok(\'null\')');
  const pub = originChecker('https://relay.example.com', []);
  assert.ok(pub('https://relay.example.com'), 'pub(\'https://relay.example.com\')');
  assert.ok(!pub('http://relay.example.com'), '!pub(\'http://relay.example.com\')');
  assert.ok(!pub('http://localhost'), '!pub(\'http://localhost\')');
});
