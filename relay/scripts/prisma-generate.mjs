// Runs `prisma generate` offline, then makes the client load Prisma's query compiler from a
// WebAssembly file instead of a base64 string.
//
// Offline: the Prisma 7 client needs no engine at run time (driver adapters), but the CLI insists
// on locating a schema engine binary, which it would otherwise try to download. Generation never
// executes it, so any existing file satisfies the check.
//
// The query compiler: the generated client imports it as a JavaScript module holding the .wasm as
// a 2.2 MiB base64 string (so that bundlers can carry it). A loaded module is never freed, and V8
// keeps both its source text and the string literal: 4.4 MiB of the relay's heap for as long as it
// runs, plus the decoded copy while it compiles. Here the string is decoded once, at build time,
// into `query_compiler.wasm` next to the generated client (in src/ for tsx and in dist/ for the
// built relay), and the generated loader is rewritten to read that file
// (docs/benchmarks.md, "fifth session").
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const relayDir = path.resolve(here, '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const prismaBin = path.join(relayDir, 'node_modules', '.bin', 'prisma');
const r = spawnSync(prismaBin, ['generate', '--schema', 'prisma/schema.prisma'], { cwd: relayDir, env, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

const WASM_FILE = 'query_compiler.wasm';
const classFile = path.join(relayDir, 'src/generated/prisma/internal/class.ts');
const source = readFileSync(classFile, 'utf8');
// What `prisma generate` writes (Prisma 7, compilerBuild "small", provider postgresql).
const loader = /getQueryCompilerWasmModule: async \(\) => \{\n\s*const \{ wasm \} = await import\("(@prisma\/client\/runtime\/query_compiler_[\w.]+\.wasm-base64\.mjs)"\)\n\s*return await decodeBase64AsWasm\(wasm\)\n\s*\},/;
const m = loader.exec(source);
if (!m) {
  console.error(`prisma-generate: ${classFile} no longer loads the query compiler the way this script expects ` +
    '(a Prisma upgrade?); update the pattern in relay/scripts/prisma-generate.mjs.');
  process.exit(1);
}
const { wasm } = await import(createRequire(path.join(relayDir, 'package.json')).resolve(m[1]));
const binary = Buffer.from(wasm, 'base64');
if (!WebAssembly.validate(binary)) {
  console.error(`prisma-generate: ${m[1]} does not decode to a valid WebAssembly module`);
  process.exit(1);
}
// class.ts sits in generated/prisma/internal/ under src/ and dist/ alike: the file goes to
// generated/prisma/ under both.
for (const root of ['src', 'dist']) {
  const dir = path.join(relayDir, root, 'generated/prisma');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, WASM_FILE), binary);
}
const patched = source.replace(
  loader,
  `getQueryCompilerWasmModule: async () => {
    // Rewritten by relay/scripts/prisma-generate.mjs: read the module decoded at build time.
    const { readFile } = await import('node:fs/promises')
    return new WebAssembly.Module(await readFile(new URL('../${WASM_FILE}', import.meta.url)))
  },`,
);
writeFileSync(classFile, patched.replace(/\nasync function decodeBase64AsWasm\([\s\S]*?\n\}\n/, '\n'));
console.log(`prisma-generate: query compiler from ${WASM_FILE} (${(binary.length / 1048576).toFixed(1)} MiB) instead of ${m[1]}`);
