/**
 * Host metrics (cpu load, memory, the root file system, load averages, uptime, network rates),
 * sampled with systeminformation and sent to the relay as a `metrics` message every
 * `metrics_interval` seconds while the link is up (0 turns it off).
 *
 * Setting, first that is set wins: `rexec-agent start --metrics-interval N` >
 * REXEC_AGENT_METRICS_INTERVAL > config `metrics_interval` > 10.
 *
 * A relay that predates the message answers `error` (unknown_message, ref "metrics"): the
 * reporter then stays quiet until the next connection, so an older relay sees one error per link.
 */
import os from 'node:os';
import si from 'systeminformation';
import type { HostMetrics, MetricsMessage } from '@rexec/shared';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';

export const DEFAULT_METRICS_INTERVAL_SEC = 10;
export const MAX_METRICS_INTERVAL_SEC = 3600;

/** The interval in seconds (0 = off). Throws on a value that is not a whole number 0-3600. */
export function metricsIntervalSetting(cfg: AgentConfig, env: NodeJS.ProcessEnv, flag?: string): number {
  const check = (v: unknown, from: string): number => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_METRICS_INTERVAL_SEC) {
      throw new Error(`${from} must be a whole number of seconds from 0 (off) to ${MAX_METRICS_INTERVAL_SEC}, got "${String(v)}"`);
    }
    return n;
  };
  if (flag !== undefined) return check(flag, '--metrics-interval');
  const fromEnv = env.REXEC_AGENT_METRICS_INTERVAL;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return check(fromEnv, 'REXEC_AGENT_METRICS_INTERVAL');
  if (cfg.metrics_interval !== undefined) return check(cfg.metrics_interval, 'config "metrics_interval"');
  return DEFAULT_METRICS_INTERVAL_SEC;
}

/** Takes samples; network rates are computed against the previous sample. */
export class MetricsSampler {
  private lastNet: { at: number; rx: number; tx: number } | null = null;

  async sample(): Promise<HostMetrics> {
    const [load, mem, disks, net] = await Promise.all([
      si.currentLoad().catch(() => null),
      si.mem().catch(() => null),
      si.fsSize().catch(() => []),
      si.networkStats('*').catch(() => []),
    ]);
    const at = Date.now();
    const root = disks.find((d) => d.mount === '/');
    let rx = 0;
    let tx = 0;
    for (const n of net) {
      if (n.iface === 'lo' || n.iface.startsWith('lo')) continue;
      rx += Number.isFinite(n.rx_bytes) ? n.rx_bytes : 0;
      tx += Number.isFinite(n.tx_bytes) ? n.tx_bytes : 0;
    }
    const prev = this.lastNet;
    this.lastNet = { at, rx, tx };
    const secs = prev ? (at - prev.at) / 1000 : 0;
    const rate = (now: number, before: number) => (secs > 0 ? Math.max(0, (now - before) / secs) : null);
    const [l1, l5, l15] = os.loadavg();
    const memTotal = mem?.total ?? os.totalmem();
    return {
      ts: at,
      cpuPercent: clamp(load?.currentLoad ?? 0, 0, 100),
      // "active" leaves out reclaimable caches: what people mean by memory in use.
      memUsedBytes: Math.max(0, mem ? (mem.active || mem.used) : memTotal - os.freemem()),
      memTotalBytes: memTotal,
      diskUsedBytes: root ? Math.max(0, root.used) : null,
      diskTotalBytes: root ? Math.max(0, root.size) : null,
      load: [Math.max(0, l1 ?? 0), Math.max(0, l5 ?? 0), Math.max(0, l15 ?? 0)],
      uptimeSeconds: Math.max(0, os.uptime()),
      netRxBytesPerSec: prev ? rate(rx, prev.rx) : null,
      netTxBytesPerSec: prev ? rate(tx, prev.tx) : null,
    };
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}

export interface MetricsReporterOptions {
  intervalSec: number;
  send(msg: MetricsMessage): boolean;
  logger: Logger;
  sampler?: MetricsSampler;
}

/** Sends a sample every interval while connected; start() on connect, stop() on disconnect. */
export class MetricsReporter {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly sampler: MetricsSampler;

  constructor(private readonly opts: MetricsReporterOptions) {
    this.sampler = opts.sampler ?? new MetricsSampler();
  }

  get enabled(): boolean {
    return this.opts.intervalSec > 0;
  }

  start(): void {
    this.stop();
    if (!this.enabled) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalSec * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The relay answered a message with an error: if it does not know `metrics`, stop until the next link. */
  onRelayError(msg: { code: string; ref?: string | undefined }): void {
    if (msg.ref !== 'metrics' || !this.timer) return;
    this.opts.logger.info('the relay does not accept host metrics (older relay?); not sending them on this connection', { code: msg.code });
    this.stop();
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a slow sample (df on a hung mount) never piles up
    this.busy = true;
    try {
      const sample = await this.sampler.sample();
      if (this.timer) this.opts.send({ type: 'metrics', sample }); // not after stop()
    } catch (err) {
      this.opts.logger.warn('could not sample host metrics', { error: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }
}
