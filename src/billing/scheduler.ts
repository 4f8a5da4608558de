/**
 * The billing cycle that runs itself, in the console role.
 *
 * Every `intervalMs` one cycle:
 *   1. take (or renew) the `billing` lease — only its holder goes on, so with several
 *      console processes exactly one runs the cycle;
 *   2. bill every period that ended at least `settleMs` ago (late usage gets that long to
 *      arrive): the ordinary billing run, which per subscription resumes after its last
 *      invoice and writes every missed period oldest first, and is idempotent;
 *   3. finalize every draft created at least `reviewMs` ago (0 = at once), oldest first,
 *      through billing.finalize — the `invoice.finalized` webhook and every onFinalized
 *      listener (the buyer's mail, payment collection) follow from there.
 *
 * Failure: an error in one subscription or one invoice is logged and counted, and the
 * cycle goes on; the next cycle retries whatever is still missing. The lease is renewed
 * while a long cycle runs; if this process dies, another takes over after `leaseMs`.
 * Correctness never rests on the lease alone: invoices are unique per (subscription,
 * period start) and finalization is a conditional update.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { Billing, RunResult } from './index.js';
import { dbLease, type Lease } from './lease.js';

export interface SchedulerOptions {
  /** How often a cycle starts (ms). */
  intervalMs: number;
  /** How long after a period ends it is billed (late usage), ms. */
  settleMs: number;
  /** How long a draft stays open to review before it is finalized, ms (0 = at once). */
  reviewMs: number;
  /** How long a lease lasts without renewal (default 5 × intervalMs, at least 30 s). */
  leaseMs?: number;
  /** Who we are in the lease (node name + pid). */
  holder: string;
}

export interface CycleResult {
  /** False when another process holds the lease (nothing was done). */
  leader: boolean;
  until: string | null;
  created: number;
  finalized: number;
  failed: number;
  ms: number;
  run?: RunResult;
}

export interface BillingScheduler {
  /** One cycle now (what the timer does; also `tollgate billing run`). */
  cycle(options?: { until?: number; onProgress?: (r: RunResult) => void }): Promise<CycleResult>;
  start(): void;
  /** Stops the timer, waits for a running cycle, gives the lease up. */
  stop(): Promise<void>;
  readonly lease: Lease;
}

export interface SchedulerDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  billing: Billing;
  registry?: Registry;
}

/** Drafts finalized per query page. */
const PAGE = 500;

export function createBillingScheduler(deps: SchedulerDeps, options: SchedulerOptions): BillingScheduler {
  const { store, clock, log, billing } = deps;
  const leaseMs = options.leaseMs ?? Math.max(30_000, 5 * options.intervalMs);
  const lease = dbLease(store.db, 'billing', options.holder, leaseMs);
  const m = metrics(deps.registry);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<CycleResult> | null = null;

  async function finalizeDue(now: number, result: CycleResult): Promise<void> {
    const due = now - options.reviewMs;
    let after = '';
    for (;;) {
      const rows = await store.db
        .selectFrom('invoices')
        .select('id')
        .where('status', '=', 'draft')
        .where('created_at', '<=', due)
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      for (const { id } of rows) {
        try {
          await billing.finalize(id, 'scheduler');
          result.finalized++;
        } catch (err) {
          // a person voided or finalized it meanwhile: nothing to do
          if ((err as { code?: string }).code === 'INVALID_STATE') continue;
          result.failed++;
          log.error({ err, invoice: id }, 'billing cycle: finalize failed');
        }
      }
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async function runCycle(opts: {
    until?: number;
    onProgress?: (r: RunResult) => void;
  }): Promise<CycleResult> {
    const t0 = performance.now();
    const result: CycleResult = { leader: false, until: null, created: 0, finalized: 0, failed: 0, ms: 0 };
    if (!(await lease.acquire(clock.now()))) {
      m.leader.set(0);
      return result;
    }
    m.leader.set(1);
    result.leader = true;
    // renew while a long cycle runs, so no other process takes over half-way
    const renew = setInterval(() => {
      lease.acquire(clock.now()).catch((err: unknown) => log.error({ err }, 'billing lease renewal failed'));
    }, leaseMs / 3);
    renew.unref();
    try {
      const now = clock.now();
      const until = Math.min(opts.until ?? now - options.settleMs, now - options.settleMs);
      result.until = new Date(until).toISOString();
      const run = await billing.run({ until }, opts.onProgress);
      result.run = run;
      result.created = run.created;
      result.failed += run.failed.length;
      await finalizeDue(clock.now(), result);
    } finally {
      clearInterval(renew);
    }
    result.ms = Math.round(performance.now() - t0);
    m.created.inc(result.created);
    m.finalized.inc(result.finalized);
    m.failures.inc(result.failed);
    m.cycles.inc({ result: result.failed > 0 ? 'partial' : 'ok' });
    m.lastSuccess.set(clock.now() / 1000);
    const level = result.failed > 0 ? 'warn' : result.created + result.finalized > 0 ? 'info' : 'debug';
    log[level](
      {
        until: result.until,
        created: result.created,
        finalized: result.finalized,
        failed: result.failed,
        ms: result.ms,
      },
      'billing cycle',
    );
    return result;
  }

  function cycle(opts: { until?: number; onProgress?: (r: RunResult) => void } = {}): Promise<CycleResult> {
    // one cycle at a time in this process: a tick during a long cycle waits for it
    const next = (running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => runCycle(opts))
      .catch((err: unknown) => {
        m.cycles.inc({ result: 'error' });
        log.error({ err }, 'billing cycle failed');
        throw err;
      });
    running = next;
    return next;
  }

  return {
    lease,
    cycle,
    start() {
      if (timer) return;
      let busy = false;
      const tick = () => {
        if (busy) return; // a long cycle is still running: skip this tick
        busy = true;
        cycle()
          .catch(() => undefined)
          .finally(() => {
            busy = false;
          });
      };
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
      tick(); // catch up at once after a restart
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
      await lease.release().catch(() => undefined);
    },
  };
}

function metrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    cycles: new Counter({
      name: 'tollgate_billing_cycles_total',
      help: 'Billing cycles this process ran as the lease holder, by result (ok, partial, error).',
      labelNames: ['result'] as const,
      registers,
    }),
    created: new Counter({
      name: 'tollgate_billing_invoices_created_total',
      help: 'Invoices the billing cycle created.',
      registers,
    }),
    finalized: new Counter({
      name: 'tollgate_billing_invoices_finalized_total',
      help: 'Drafts the billing cycle finalized after the review window.',
      registers,
    }),
    failures: new Counter({
      name: 'tollgate_billing_failures_total',
      help: 'Subscriptions or invoices the billing cycle could not bill or finalize (retried next cycle).',
      registers,
    }),
    leader: new Gauge({
      name: 'tollgate_billing_lease_held',
      help: '1 while this process holds the billing lease and runs the cycle, else 0.',
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'tollgate_billing_last_cycle_seconds',
      help: 'When this process last completed a billing cycle (Unix seconds, by the service clock).',
      registers,
    }),
  };
}
