/** The fetch options for relay calls of a registered agent (tests inject their own fetch). */
import type { AgentConfig } from './config.js';
import type { RelayApiOptions } from './relay-api.js';
import type { CliContext } from './commands/context.js';
import { caFileSetting, fetchTrusting, loadCa } from './tls.js';

export function relayFetch(reg: AgentConfig, ctx: Pick<CliContext, 'fetch' | 'env'>): RelayApiOptions {
  if (ctx.fetch) return { fetch: ctx.fetch };
  const ca = loadCa(caFileSetting(reg, ctx.env));
  return ca ? { fetch: fetchTrusting(ca) } : {};
}
