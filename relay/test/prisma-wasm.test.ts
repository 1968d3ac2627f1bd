/**
 * The generated Prisma client loads its query compiler from a .wasm file written at build time
 * (relay/scripts/prisma-generate.mjs), not from the base64 module that would stay in the relay's
 * heap for good (4.4 MiB: the module's source and its string). Queries themselves are covered by
 * db-roundtrip.test.ts, which fails if the file cannot be read or compiled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Node has WebAssembly; @types/node 20 does not declare it.
declare const WebAssembly: { validate(bytes: Uint8Array): boolean };

const relayDir = fileURLToPath(new URL('..', import.meta.url));

for (const [root, ext] of [['src', 'ts'], ['dist', 'js']] as const) {
  test(`${root}: the client reads query_compiler.wasm, not the base64 module`, () => {
    const loader = readFileSync(`${relayDir}${root}/generated/prisma/internal/class.${ext}`, 'utf8');
    assert.ok(!loader.includes('wasm-base64'), `${root}/generated/prisma/internal/class.${ext} still imports the base64 query compiler`);
    assert.ok(loader.includes("new URL('../query_compiler.wasm', import.meta.url)"), 'the rewritten loader reads query_compiler.wasm');
    const wasm = readFileSync(`${relayDir}${root}/generated/prisma/query_compiler.wasm`);
    assert.ok(WebAssembly.validate(wasm), `${root}/generated/prisma/query_compiler.wasm is a valid WebAssembly module`);
  });
}
