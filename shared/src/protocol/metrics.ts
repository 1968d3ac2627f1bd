/**
 * Host metrics the agent reports on its link (`metrics`, agent -> relay, every N seconds; the
 * agent's `metrics_interval` setting). Added without a protocol version bump: a relay that does
 * not know the message answers `error` (unknown_message, ref "metrics") and the agent stops
 * sending it on that link.
 */
import { z } from 'zod';

const bytes = z.number().nonnegative().finite();

export const hostMetricsSchema = z.object({
  /** When the sample was taken (ms since the epoch, agent clock). */
  ts: z.number().int().nonnegative(),
  /** CPU busy share over the last interval, 0-100. */
  cpuPercent: z.number().min(0).max(100),
  memUsedBytes: bytes,
  memTotalBytes: bytes,
  /** The file system mounted at `/` (null where there is none, e.g. some containers). */
  diskUsedBytes: bytes.nullable(),
  diskTotalBytes: bytes.nullable(),
  /** 1, 5 and 15 minute load averages. */
  load: z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()]),
  uptimeSeconds: z.number().nonnegative(),
  /** Bytes per second over all non-loopback interfaces since the previous sample (null on the first). */
  netRxBytesPerSec: bytes.nullable(),
  netTxBytesPerSec: bytes.nullable(),
});
export type HostMetrics = z.infer<typeof hostMetricsSchema>;

export const metricsMessageSchema = z.object({ type: z.literal('metrics'), sample: hostMetricsSchema });
export type MetricsMessage = z.infer<typeof metricsMessageSchema>;
