/**
 * `tollgate serve --workers N`: N gateway processes on one machine sharing the gateway port
 * through node:cluster (the primary accepts connections and hands them out round-robin).
 *
 * The primary process runs the console once (role `all`; nothing else with role `gateway`)
 * and, without Redis, owns the limits: one MemoryLimits that every worker leases from over
 * IPC (limits/channel.ts) — quotas stay exact across workers, throttles within the lease
 * bound of docs/limits.md. It also relays change numbers (changes.ts), unchanged: an admin
 * write's number is applied to the primary's snapshot and sent to every worker, a worker's
 * to the primary and every other worker; each catches up from the change log. With Redis configured, workers use Redis for limits and changes, as separate
 * gateway processes do.
 *
 * Worker N is role `gateway` with node `<node>.wN`: its own metering writer, batch ids and,
 * in strict mode, its own usage log files, which a restarted worker N replays. A worker that
 * exits is logged and forked again (after a back-off when it keeps dying young). The
 * primary's `/metrics` is the sum of its own and every worker's (cluster-metrics.ts). close()
 * (SIGTERM) drains every worker with its grace, then stops the console and the counters.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Config } from '../config/index.js';
import {
  ChannelLimits,
  LeasedLimits,
  type LimitsPort,
  limitsAnswerer,
  MemoryLimits,
} from '../limits/index.js';
import { createLogger, type Logger } from '../shared/index.js';
import { openStore } from '../store/index.js';
import { type ChangeBus, type ChangeMessage, channelChangeBus, isChangeMessage } from './changes.js';
import { answerMetricsRequests, isMetricsReply, workerMetrics } from './cluster-metrics.js';
import { parseLease, startTollgate, type Tollgate } from './index.js';

/** Set by the primary in each worker's environment: which worker it is (1..N). */
export const WORKER_ENV = 'TOLLGATE_WORKER_INDEX';
/** Workers lease blocks from the primary unless `limitsLease` says otherwise. */
const WORKER_LEASE = '32/250';

export function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

/** This process's worker number when it is a worker of `serve --workers`, else null. */
export function workerIndex(): number | null {
  const v = process.env[WORKER_ENV];
  return cluster.isWorker && v !== undefined ? Number(v) : null;
}

export interface ClusterHandle {
  gatewayUrl: string;
  consoleUrl: string | null;
  bootstrapToken: string | null;
  close(): Promise<void>;
}

export async function startCluster(config: Config, log: Logger): Promise<ClusterHandle> {
  const n = workerCount(config);
  // Structured clone over IPC: decisions carry Infinity, which JSON would turn into null.
  cluster.setupPrimary({ serialization: 'advanced' });
  const memory = config.redisUrl ? null : new MemoryLimits();
  const answer = memory ? limitsAnswerer(memory) : null;
  const workers = new Map<number, Worker>();
  let stopping = false;
  let notifyPrimary: (seq: number) => void = () => {};
  // `/metrics` on the primary's console: its own plus every worker's, summed.
  const gathered = workerMetrics(() => workers.entries(), log);
  const relay = (seq: number, from: Worker | null) => {
    for (const w of workers.values())
      if (w !== from && w.isConnected()) w.send({ tg: 'change', seq } satisfies ChangeMessage);
  };

  // The console first (it migrates the store), once, in this process; then the workers.
  let primary: Tollgate | null = null;
  if (config.role === 'all') {
    const bus = (onChange: (seq?: number) => void): ChangeBus => {
      notifyPrimary = onChange;
      // IPC does not drop messages: the primary need not poll the change log.
      return { publish: (seq) => relay(seq, null), live: () => true, close: async () => {} };
    };
    primary = await startTollgate(Object.freeze({ ...config, role: 'console' as const }), {
      log,
      shared: {
        part: 'console',
        otherMetrics: gathered.collect,
        ...(memory ? { limits: memory, bus } : {}),
      },
    });
  } else await (await openStore(config.databaseUrl)).close();

  const fails = new Map<number, number>();
  const fork = (i: number): Worker => {
    const w = cluster.fork({ [WORKER_ENV]: String(i) });
    const bornAt = Date.now();
    workers.set(i, w);
    w.on('message', (m: unknown) => {
      const reply = answer?.(m);
      if (reply) {
        if (w.isConnected()) w.send(reply);
      } else if (isMetricsReply(m)) gathered.onReply(m);
      else if (isChangeMessage(m)) {
        notifyPrimary(m.seq);
        relay(m.seq, w);
      }
    });
    w.on('exit', (code, signal) => {
      if (workers.get(i) === w) workers.delete(i);
      if (stopping) return;
      // Dying within 10 s of its start again and again: wait longer each time (up to 30 s).
      const young = Date.now() - bornAt < 10_000;
      const f = young ? (fails.get(i) ?? 0) + 1 : 0;
      fails.set(i, f);
      const delayMs = f === 0 ? 0 : Math.min(30_000, 500 * 2 ** (f - 1));
      log.error(
        { worker: i, pid: w.process.pid, code, signal, restartInMs: delayMs },
        'gateway worker exited; restarting it',
      );
      setTimeout(() => {
        if (!stopping) fork(i);
      }, delayMs);
    });
    return w;
  };

  const stopAll = async () => {
    stopping = true;
    const grace = config.shutdownGraceMs + 10_000;
    await Promise.all(
      [...workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            // A worker drains within its own grace; one that hangs past it is killed.
            const kill = setTimeout(() => w.process.kill('SIGKILL'), grace);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };

  let port: number;
  try {
    const ports = await Promise.all(
      Array.from({ length: n }, (_, k) => {
        const w = fork(k + 1);
        return new Promise<number>((resolve, reject) => {
          w.once('listening', (address) => resolve(address.port));
          w.once('exit', (code) =>
            reject(new Error(`gateway worker ${k + 1} exited with ${code} before listening`)),
          );
        });
      }),
    );
    port = ports[0]!;
  } catch (err) {
    await stopAll();
    await primary?.close();
    throw err;
  }
  const host =
    config.gatewayHost === '0.0.0.0' || config.gatewayHost === '::' ? '127.0.0.1' : config.gatewayHost;
  const gatewayUrl = `http://${host}:${port}`;
  log.info(
    {
      gateway: gatewayUrl,
      console: primary?.consoleUrl ?? null,
      workers: n,
      role: config.role,
      metering: config.metering,
    },
    'tollgate started',
  );
  return {
    gatewayUrl,
    consoleUrl: primary?.consoleUrl ?? null,
    bootstrapToken: primary?.bootstrapToken ?? null,
    async close() {
      await stopAll();
      await primary?.close();
      await memory?.close();
      log.info({ workers: n }, 'tollgate stopped: every worker drained');
    },
  };
}

/** Worker `index`: a gateway-only Tollgate with its own node name, sharing the primary's counters. */
export async function startWorker(config: Config, index: number): Promise<Tollgate> {
  const log = createLogger({ level: config.logLevel }).child({ worker: index });
  // The console's `/metrics` listener belongs to the primary; a worker opens no other port.
  const { metricsPort: _, ...rest } = config;
  const own: Config = Object.freeze({ ...rest, role: 'gateway' as const, node: `${config.node}.w${index}` });
  if (config.redisUrl) {
    const tg = await startTollgate(own, { log, shared: { part: 'gateway worker' } });
    answerMetricsRequests(process, tg.metrics.registry);
    return tg;
  }
  const port: LimitsPort = {
    send: (m) => {
      process.send!(m);
    },
    listen: (fn) => {
      process.on('message', fn);
    },
  };
  const channel = new ChannelLimits(port);
  // Without its primary a worker has no limits and no port of its own: it drains and stops.
  process.once('disconnect', () => {
    channel.disconnect(new Error('the primary process is gone'));
    log.error('primary process gone; stopping');
    process.kill(process.pid, 'SIGTERM');
  });
  const limits = new LeasedLimits({
    limits: channel,
    leases: channel,
    log,
    ...parseLease(config.limitsLease ?? WORKER_LEASE),
  });
  const tg = await startTollgate(own, {
    log,
    shared: {
      part: 'gateway worker',
      limits,
      bus: (onChange) => channelChangeBus(process, onChange, log),
    },
  });
  answerMetricsRequests(process, tg.metrics.registry);
  return tg;
}
