/**
 * Trusting a private CA: `ca_file` in the config, `--ca-file` at register, or
 * REXEC_AGENT_CA_FILE (wins). The CA is added to the system roots for both the HTTP calls and
 * the WebSocket link; certificates are always verified (there is no "insecure" switch).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { FetchLike } from './relay-api.js';

export class CaFileError extends Error {}

/** The CA bundle to trust besides the system roots, or undefined. */
export function loadCa(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new CaFileError(`cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!pem.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) throw new CaFileError(`the CA file ${file} holds no PEM certificate`);
  return pem;
}

/** System roots plus the extra CA, for the `ca` option of TLS clients. */
export function trustedCas(extra: Buffer): string[] {
  return [...rootCertificates, extra.toString('utf8')];
}

/** A fetch that also trusts `ca`. */
export function fetchTrusting(ca: Buffer): FetchLike {
  const dispatcher = new Agent({ connect: { ca: trustedCas(ca) } });
  return ((input: Parameters<FetchLike>[0], init?: Parameters<FetchLike>[1]) => undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as FetchLike;
}

/** The CA file in effect: REXEC_AGENT_CA_FILE, else the config's ca_file. */
export function caFileSetting(config: { ca_file?: string }, env: NodeJS.ProcessEnv): string | undefined {
  return env.REXEC_AGENT_CA_FILE || config.ca_file || undefined;
}
