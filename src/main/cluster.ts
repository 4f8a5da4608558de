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
import { listenerUrl } from './listen.js';
import { startOrUndo } from './opened.js';

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

/**
 * The primary: the counters the workers lease from (without Redis), the console (role
 * `all`), then the workers. A start that fails part-way (a worker that dies before it
 * listens, a console port in use) stops what was started, in reverse order (opened.ts).
 */
export async function startCluster(config: Config, log: Logger): Promise<ClusterHandle> {
  const n = workerCount(config);
  // Structured clone over IPC: decisions carry Infinity, which JSON would turn into null.
  cluster.setupPrimary({ serialization: 'advanced' });
  return startOrUndo(log, async (opened) => {
    const memory = config.redisUrl ? null : new MemoryLimits();
    if (memory) opened.add('worker limits', () => memory.close());
    const pool = new WorkerPool(config, log, memory ? limitsAnswerer(memory) : () => null);

    // The console first (it migrates the store), once, in this process; then the workers.
    let primary: Tollgate | null = null;
    if (config.role === 'all') {
      // IPC does not drop messages: the primary need not poll the change log.
      const bus = (onChange: (seq?: number) => void): ChangeBus => {
        pool.onChange = onChange;
        return { publish: (seq) => pool.relay(seq, null), live: () => true, close: async () => {} };
      };
      const consoleProcess = await startTollgate(Object.freeze({ ...config, role: 'console' as const }), {
        log,
        shared: {
          part: 'console',
          // `/metrics` on the primary's console: its own plus every worker's, summed.
          otherMetrics: pool.metrics.collect,
          ...(memory ? { limits: memory, bus } : {}),
        },
      });
      opened.add('console', () => consoleProcess.close());
      primary = consoleProcess;
    } else await (await openStore(config.databaseUrl)).close();

    opened.add('gateway workers', () => pool.stopAll());
    const port = await pool.start(n);
    const gatewayUrl = listenerUrl(config.gatewayHost, port);
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
        await opened.closeAll();
        log.info({ workers: n }, 'tollgate stopped: every worker drained');
      },
    };
  });
}

/**
 * The workers: forked, answered (limit leases) and relayed to (change numbers) over IPC,
 * restarted when they exit, stopped together with a grace.
 */
type Answer = (m: unknown) => ReturnType<ReturnType<typeof limitsAnswerer>>;

class WorkerPool {
  private readonly workers = new Map<number, Worker>();
  private readonly fails = new Map<number, number>();
  private stopping = false;
  /** The primary's own snapshot hears every worker's change (role `all`). */
  onChange: (seq: number) => void = () => {};
  /** Every live worker's metrics, gathered at scrape time. */
  readonly metrics: ReturnType<typeof workerMetrics>;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    /** The reply to a worker's limits request, or null when the message is not one. */
    private readonly answer: Answer,
  ) {
    this.metrics = workerMetrics(() => this.workers.entries(), log);
  }

  /** Forks `n` workers; resolves with the shared gateway port once every one listens. */
  async start(n: number): Promise<number> {
    const ports = await Promise.all(
      Array.from({ length: n }, (_, k) => {
        const w = this.fork(k + 1);
        return new Promise<number>((resolve, reject) => {
          w.once('listening', (address) => resolve(address.port));
          w.once('exit', (code) =>
            reject(new Error(`gateway worker ${k + 1} exited with ${code} before listening`)),
          );
        });
      }),
    );
    return ports[0] ?? this.config.gatewayPort;
  }

  /** Sends change `seq` to every worker but the one it came from. */
  relay(seq: number, from: Worker | null): void {
    for (const w of this.workers.values())
      if (w !== from && w.isConnected()) w.send({ tg: 'change', seq } satisfies ChangeMessage);
  }

  private fork(i: number): Worker {
    const w = cluster.fork({ [WORKER_ENV]: String(i) });
    const bornAt = Date.now();
    this.workers.set(i, w);
    w.on('message', (m: unknown) => {
      const reply = this.answer(m);
      if (reply) {
        if (w.isConnected()) w.send(reply);
      } else if (isMetricsReply(m)) this.metrics.onReply(m);
      else if (isChangeMessage(m)) {
        this.onChange(m.seq);
        this.relay(m.seq, w);
      }
    });
    w.on('exit', (code, signal) => {
      if (this.workers.get(i) === w) this.workers.delete(i);
      if (this.stopping) return;
      // Dying within 10 s of its start again and again: wait longer each time (up to 30 s).
      const young = Date.now() - bornAt < 10_000;
      const f = young ? (this.fails.get(i) ?? 0) + 1 : 0;
      this.fails.set(i, f);
      const delayMs = f === 0 ? 0 : Math.min(30_000, 500 * 2 ** (f - 1));
      this.log.error(
        { worker: i, pid: w.process.pid, code, signal, restartInMs: delayMs },
        'gateway worker exited; restarting it',
      );
      setTimeout(() => {
        if (!this.stopping) this.fork(i);
      }, delayMs);
    });
    return w;
  }

  /** SIGTERM to every worker; one that hangs past its grace (+10 s) is killed. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    const grace = this.config.shutdownGraceMs + 10_000;
    await Promise.all(
      [...this.workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), grace);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  }
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
