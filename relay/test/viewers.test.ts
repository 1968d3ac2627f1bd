/**
 * Several viewers on one terminal session (issue 7): roles (owner and admins read-write, read-only
 * refused with read_only and never reaching the shell), size following the owner, `viewers`
 * messages and GET sessions, and share links (create, use read-only and read-write, expired,
 * revoked with the live socket closed at once, unknown, non-owners refused, Origin, audit).
 * Real relay (on PostgreSQL, so the test can age a link in the database), real agent, real PTYs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { CloseCode, ErrorCode, type CreateShareResponse, type RelayToClient, type SessionView, type ShareInfo, type ShareView } from '@rexec/shared';
import { TerminalClient, startAgent, startRelay, waitUntil, type AgentProc, type RelayProc } from './harness.js';

type ViewersMsg = Extract<RelayToClient, { type: 'viewers' }>;

function lastViewers(t: TerminalClient): ViewersMsg | undefined {
  return t.messages.filter((m): m is ViewersMsg => m.type === 'viewers').at(-1);
}

async function waitViewers(t: TerminalClient, n: number): Promise<ViewersMsg> {
  return waitUntil(`a viewers message with ${n} viewers (last: ${JSON.stringify(lastViewers(t))})`, () => {
    const v = lastViewers(t);
    return v && v.viewers.length === n ? v : undefined;
  }, 10_000, 20);
}

function errorsOf(t: TerminalClient, code: string): number {
  return t.messages.filter((m) => m.type === 'error' && m.code === code).length;
}

describe('viewers and share links', { timeout: 180_000 }, () => {
  let relay: RelayProc;
  let agent: AgentProc;
  let ownerToken = '';
  let otherToken = '';
  let db: pg.Client;

  before(async () => {
    relay = await startRelay({ database: 'postgres' });
    agent = await startAgent(relay, { name: 'shared-box' });
    const mk = async (name: string) => {
      const r = await relay.api<{ token: string }>('POST', '/api/tokens', { name, role: 'operator' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.token;
    };
    ownerToken = await mk('alice');
    otherToken = await mk('bob');
    db = new pg.Client({ connectionString: relay.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end().catch(() => {});
    await agent?.stop();
    await relay?.stop();
  });

  test('read-only input is refused and never reaches the shell; resizes follow the owner; everyone sees who is attached', async () => {
    const owner = await TerminalClient.open(relay, 'shared-box', { token: ownerToken, cols: 80, rows: 24 });
    const sessionId = owner.sessionId!;
    const first = await waitViewers(owner, 1);
    assert.deepEqual(
      first.viewers.map((v) => [v.name, v.kind, v.mode, v.owner, v.sizeOwner, v.you]),
      [['token:alice', 'token', 'rw', true, true, true]],
    );

    // Another operator cannot join someone else's session.
    const bob = await TerminalClient.open(relay, 'shared-box', { token: otherToken, start: false });
    bob.send({ type: 'shell_attach', sessionId, offset: 0 });
    await bob.waitForMessage('error');
    assert.equal(bob.messages.find((m) => m.type === 'error')?.code, ErrorCode.SessionNotFound);
    assert.equal((await bob.waitClosed()).code, CloseCode.SessionEnded);

    // An admin joins read-write (not the owner), another admin socket read-only.
    const admin = await TerminalClient.open(relay, 'shared-box', { attach: { sessionId } });
    const watcher = await TerminalClient.open(relay, 'shared-box', { attach: { sessionId, readOnly: true } });
    const three = await waitViewers(owner, 3);
    assert.deepEqual(
      three.viewers.map((v) => [v.name, v.mode, v.owner, v.sizeOwner]),
      [['token:alice', 'rw', true, true], ['token:harness', 'rw', false, false], ['token:harness', 'ro', false, false]],
    );
    const mine = await waitViewers(watcher, 3);
    assert.deepEqual(mine.viewers.map((v) => v.you), [false, false, true], 'each list marks its receiver');
    const listed = await relay.api<{ sessions: SessionView[] }>('GET', '/api/agents/shared-box/sessions');
    const row = listed.body.sessions.find((s) => s.id === sessionId);
    assert.ok(row, 'the session is listed');
    assert.equal(row.viewers, 3);
    assert.deepEqual(row.attached.map((v) => [v.name, v.mode]), [['token:alice', 'rw'], ['token:harness', 'rw'], ['token:harness', 'ro']]);

    // Read-only: input, resize and stop are refused with read_only and reach nothing.
    watcher.input('touch /tmp/never; echo typed-by-$((40+2))-readonly\r');
    watcher.resize(50, 10);
    watcher.send({ type: 'shell_stop' });
    await waitUntil('three read_only errors', () => errorsOf(watcher, ErrorCode.ReadOnly) === 3, 5000, 20);
    owner.input('echo owner-$((6*7))-here\r');
    await owner.waitFor(/owner-42-here/);
    await watcher.waitFor(/owner-42-here/);
    assert.doesNotMatch(owner.text, /typed-by-42-readonly/, 'read-only input never reached the shell');
    assert.equal(watcher.closed, null, 'shell_stop from a read-only viewer did not end the session');

    // Resizes: the admin's (not the owner) is ignored, the owner's applies and is told to all.
    admin.resize(100, 30);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(admin.messages.filter((m) => m.type === 'shell_resized').length, 0, 'a non-owner resize changes nothing');
    owner.input('stty size; echo size-$((1+1))-checked\r');
    await owner.waitFor(/24 80\r?\n(.*\r?\n)?size-2-checked/);
    owner.resize(120, 40);
    const resized = await watcher.waitForMessage('shell_resized');
    assert.deepEqual([resized.cols, resized.rows], [120, 40], 'every viewer is told the new size');
    await admin.waitForMessage('shell_resized');
    owner.input('stty size; echo size-$((2+2))-checked\r');
    await owner.waitFor(/40 120\r?\n(.*\r?\n)?size-4-checked/);

    // The owner leaves: the most recent read-write viewer (the admin) owns the size, and the size
    // it asked for earlier applies.
    owner.close();
    const two = await waitViewers(admin, 2);
    assert.deepEqual(two.viewers.map((v) => [v.mode, v.sizeOwner, v.you]), [['rw', true, true], ['ro', false, false]]);
    await waitUntil('the admin size to apply', () => admin.messages.some((m) => m.type === 'shell_resized' && m.cols === 100 && m.rows === 30), 5000, 20);
    admin.input('stty size; echo size-$((3+3))-checked\r');
    await admin.waitFor(/30 100\r?\n(.*\r?\n)?size-6-checked/);
    admin.send({ type: 'shell_stop' });
    assert.equal((await watcher.waitClosed()).code, CloseCode.SessionEnded);
  });

  test('share links: owner creates; read-only and read-write use; expired, revoked and unknown are refused; revoking closes live sockets', async () => {
    const owner = await TerminalClient.open(relay, 'shared-box', { token: ownerToken });
    const sessionId = owner.sessionId!;
    owner.input('echo before-$((5*5))-share\r');
    await owner.waitFor(/before-25-share/);
    const base = `/api/sessions/${sessionId}/shares`;

    // Only the owner (or an admin) may share; bad bodies are refused.
    assert.equal((await relay.api('POST', base, { mode: 'ro', expiresInSeconds: 600 }, otherToken)).status, 404);
    assert.equal((await relay.api('POST', base, { mode: 'ro', expiresInSeconds: 8 * 24 * 3600 }, ownerToken)).status, 400, 'at most 7 days');
    assert.equal((await relay.api('POST', base, { mode: 'xx', expiresInSeconds: 600 }, ownerToken)).status, 400);
    assert.equal((await relay.api('POST', base, { mode: 'ro' }, ownerToken)).status, 400, 'the expiry is required');

    const ro = await relay.api<CreateShareResponse>('POST', base, { mode: 'ro', expiresInSeconds: 600, label: 'watch' }, ownerToken);
    assert.equal(ro.status, 201, JSON.stringify(ro.body));
    assert.match(ro.body.token, /^rxs_[A-Za-z0-9_-]{43}$/);
    assert.ok(ro.body.url.endsWith(`/#/share/${ro.body.token}`), `the token is in the URL fragment: ${ro.body.url}`);
    const stored = await db.query<{ token_hash: string }>('SELECT token_hash FROM terminal_shares WHERE id = $1', [ro.body.id]);
    assert.notEqual(stored.rows[0]?.token_hash, ro.body.token, 'only a hash is stored');
    assert.match(stored.rows[0]?.token_hash ?? '', /^[0-9a-f]{64}$/);

    const info = await relay.api<ShareInfo>('GET', '/api/share', undefined, ro.body.token);
    assert.equal(info.status, 200);
    assert.deepEqual([info.body.sessionId, info.body.agentName, info.body.mode, info.body.label], [sessionId, 'shared-box', 'ro', 'watch']);

    // Read-only share: sees the replay and live output, cannot type, resize or start a shell.
    const guest = await TerminalClient.open(relay, 'shared-box', { share: ro.body.token, attach: { sessionId } });
    await guest.waitFor(/before-25-share/);
    const seen = await waitViewers(owner, 2);
    assert.deepEqual(seen.viewers.map((v) => [v.name, v.kind, v.mode]), [['token:alice', 'token', 'rw'], ['share link watch', 'share', 'ro']]);
    guest.input('echo guest-$((7*7))-typed\r');
    await waitUntil('read_only for the guest', () => errorsOf(guest, ErrorCode.ReadOnly) === 1, 5000, 20);
    owner.input('echo live-$((8*8))-for-guest\r');
    await guest.waitFor(/live-64-for-guest/);
    assert.doesNotMatch(owner.text, /guest-49-typed/);
    const starter = await TerminalClient.open(relay, 'shared-box', { share: ro.body.token, start: false });
    starter.send({ type: 'shell_start', cols: 80, rows: 24 });
    await starter.waitForMessage('error');
    assert.equal(starter.messages.find((m) => m.type === 'error')?.code, ErrorCode.Forbidden, 'a share link cannot start a shell');
    starter.close();

    // Read-write share: input reaches the shell.
    const rw = await relay.api<CreateShareResponse>('POST', base, { mode: 'rw', expiresInSeconds: 3600, label: 'pair' }, ownerToken);
    assert.equal(rw.status, 201);
    const pair = await TerminalClient.open(relay, 'shared-box', { share: rw.body.token, attach: { sessionId } });
    pair.input('echo pair-$((9*9))-typed\r');
    await owner.waitFor(/pair-81-typed/);
    await guest.waitFor(/pair-81-typed/);

    // A page of another site cannot use a share link.
    await assert.rejects(TerminalClient.open(relay, 'shared-box', { share: ro.body.token, origin: 'https://evil.example', start: false }), /HTTP 403/);

    // Listing shows both, with their connected sockets.
    const list = await relay.api<{ shares: ShareView[] }>('GET', base, undefined, ownerToken);
    assert.deepEqual(list.body.shares.map((s) => [s.label, s.mode, s.active, s.connected]).sort(), [['pair', 'rw', true, 1], ['watch', 'ro', true, 1]]);
    assert.equal((await relay.api('GET', base, undefined, otherToken)).status, 404, 'others cannot list');

    // Revoking closes the live socket at once and refuses the link afterwards.
    assert.equal((await relay.api('DELETE', `${base}/${ro.body.id}`, undefined, otherToken)).status, 404, 'others cannot revoke');
    const t0 = Date.now();
    assert.equal((await relay.api('DELETE', `${base}/${ro.body.id}`, undefined, ownerToken)).status, 204);
    const closed = await guest.waitClosed(3000);
    assert.equal(closed.code, CloseCode.Unauthorized);
    assert.match(closed.reason, /revoked/);
    assert.ok(Date.now() - t0 < 2000, `closed ${Date.now() - t0} ms after the revoke`);
    await assert.rejects(TerminalClient.open(relay, 'shared-box', { share: ro.body.token, start: false }), /HTTP 401.*revoked/);
    assert.equal((await relay.api('GET', '/api/share', undefined, ro.body.token)).status, 401);
    await waitViewers(owner, 2); // owner and the rw share

    // Expired: age the read-write link in the database.
    await db.query("UPDATE terminal_shares SET expires_at = now() - interval '1 second' WHERE id = $1", [rw.body.id]);
    await assert.rejects(TerminalClient.open(relay, 'shared-box', { share: rw.body.token, start: false }), /HTTP 401.*expired/);
    const expiredInfo = await relay.api<{ error: { message: string } }>('GET', '/api/share', undefined, rw.body.token);
    assert.equal(expiredInfo.status, 401);
    assert.match(expiredInfo.body.error.message, /expired/);
    // Unknown.
    await assert.rejects(TerminalClient.open(relay, 'shared-box', { share: `rxs_${'A'.repeat(43)}`, start: false }), /HTTP 401.*unknown share link/);

    // The audit log has create, use and revoke; the relay log never has a token.
    const audit = await relay.api<{ items: { action: string; target: string }[] }>('GET', '/api/audit?action=share.');
    const actions = audit.body.items.filter((e) => e.target === sessionId).map((e) => e.action);
    for (const a of ['share.create', 'share.use', 'share.revoke', 'share.refused']) assert.ok(actions.includes(a), `audit has ${a} (got ${actions.join(',')})`);
    assert.ok(!relay.output.text.includes(ro.body.token) && !relay.output.text.includes(rw.body.token), 'no share token in the relay log');

    pair.close();
    owner.send({ type: 'shell_stop' });
    await owner.waitClosed();
    // A link to an ended session opens nothing.
    const ended = await relay.api<{ error: { code: string } }>('GET', '/api/share', undefined, rw.body.token);
    assert.ok(ended.status === 401 || ended.status === 404, `status ${ended.status}`);
  });
});
