/**
 * Run output at rest. Its bytes are rows of run_output_chunks (offset in the run's combined
 * stream, which stream, bytes), written as they arrive; when the run ends they are also folded
 * into the run's raw_output (ANSI preserved, streams interleaved as produced) and stdout / stderr
 * (cleaned: ANSI stripped, carriage-return overwrites applied) for queries and exports. The
 * chunks stay as the byte-exact record that run sockets replay.
 */
import { cleanOutput } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';

export type Stream = 'stdout' | 'stderr';
export interface Chunk {
  offset: number;
  stream: Stream;
  data: Uint8Array;
}

/** Text for a PostgreSQL TEXT column: invalid UTF-8 becomes U+FFFD and NUL (not storable) is dropped. */
export function storableText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes).replaceAll('\u0000', '');
}

export async function readChunks(prisma: PrismaClient, runId: string, from = 0): Promise<Chunk[]> {
  const rows = await prisma.runOutputChunk.findMany({ where: { runId }, orderBy: { offset: 'asc' } });
  const out: Chunk[] = [];
  for (const r of rows) {
    const end = r.offset + r.data.length;
    if (end <= from) continue;
    const data = new Uint8Array(r.data);
    out.push({ offset: Math.max(r.offset, from), stream: r.stream === 'stderr' ? 'stderr' : 'stdout', data: r.offset >= from ? data : data.subarray(from - r.offset) });
  }
  return out;
}

export interface FoldedOutput {
  rawOutput: string;
  stdout: string;
  stderr: string;
}

export function foldChunks(chunks: Chunk[]): FoldedOutput {
  const concat = (list: Uint8Array[]) => Buffer.concat(list.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
  const raw = concat(chunks.map((c) => c.data));
  const out = concat(chunks.filter((c) => c.stream === 'stdout').map((c) => c.data));
  const err = concat(chunks.filter((c) => c.stream === 'stderr').map((c) => c.data));
  return { rawOutput: storableText(raw), stdout: cleanOutput(storableText(out)), stderr: cleanOutput(storableText(err)) };
}

/** The output of a run as it stands: the folded columns of an ended run, or its chunks so far. */
export async function currentOutput(prisma: PrismaClient, run: { id: string; status: string; rawOutput: string; stdout: string; stderr: string }): Promise<FoldedOutput> {
  if (run.status !== 'queued' && run.status !== 'running') return { rawOutput: run.rawOutput, stdout: run.stdout, stderr: run.stderr };
  return foldChunks(await readChunks(prisma, run.id));
}
