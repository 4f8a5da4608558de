/**
 * Provider side: the hourly metering exporter to an external marketplace (AWS Marketplace
 * or another Tollgate), with BatchMeterUsage through the official client.
 *
 * Two phases per run:
 * 1. Plan — for every externally onboarded subscription that is trialing/active/
 *    cancel_pending (or cancelled, until the hour it ended in is frozen; within the
 *    lookback), and every *complete* hour (end + `settleMs` ≤ now) not yet in the
 *    ledger, insert one `marketplace_exports` row per dimension (the plan's route
 *    dimensions ∪ those seen in usage, within those the marketplace product lists) with
 *    its quantity FROZEN:
 *      quantity(H) = usage up to the end of H − everything already in the ledger,
 *    so idle hours get a zero record, and usage that arrives late for an already-frozen
 *    hour is carried into the next record instead of being lost or re-sent. The unique
 *    (subscription, dimension, hour) constraint makes the first insert win across
 *    processes; a quantity is never changed after insert, so the same (customer,
 *    dimension, hour) can never go out with two quantities.
 * 2. Deliver — pending rows, grouped per product/identity mode, ≤25 per call, hour-aligned
 *    timestamps. Results: Success → `sent`, DuplicateRecord → `duplicate` (alert),
 *    CustomerNotSubscribed → `not_subscribed`. Only UnprocessedRecords are retried;
 *    ThrottlingException backs off exponentially (1, 2, 4 … s); a network fault or 5xx
 *    leaves rows pending for the next run; a request-level refusal of a multi-record
 *    batch is retried record by record so one bad record cannot block others (its own
 *    refusal → `failed`, alert). Rows whose hour is no longer inside AWS's 6-hour window
 *    (with a 5-minute margin) become `expired` and raise an alert, never sent late.
 * `flushNow(subscriptionId)` (on unsubscribe-pending) flushes the meter, freezes the
 * current partial hour too, and delivers at once.
 */
import { BatchMeterUsageCommand, type UsageRecord } from '@aws-sdk/client-marketplace-metering';
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { MarketplaceExportTable } from '../store/tables/marketplace.js';
import { createPlanner, MARGIN, WINDOW } from './export-plan.js';

export type ExportStatus = 'pending' | 'sent' | 'duplicate' | 'not_subscribed' | 'failed' | 'expired';

export interface ExportAlert {
  kind: 'expired' | 'failed' | 'duplicate';
  subscriptionId: string;
  dimension: string;
  hour: number;
  quantity: number;
  error?: string;
}

export interface ExportReport {
  planned: number;
  sent: number;
  duplicate: number;
  notSubscribed: number;
  failed: number;
  expired: number;
  pending: number;
  calls: number;
}

export interface ExporterDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** The official MarketplaceMeteringClient (or anything with its `send`). */
  metering: {
    send(
      command: BatchMeterUsageCommand,
    ): Promise<import('@aws-sdk/client-marketplace-metering').BatchMeterUsageCommandOutput>;
  };
  flushUsage?: () => Promise<void>;
  /** Wait after an hour ends before it counts as complete (metering flush lag). Default 2 min. */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onAlert?: (alert: ExportAlert) => void;
  /** Throttling retries per batch before leaving it for the next run. Default 5. */
  maxThrottleRetries?: number;
  baseBackoffMs?: number;
  /** Rounds of UnprocessedRecords retries per run. Default 3. */
  maxUnprocessedRounds?: number;
}

const errName = (e: unknown): string => (e as { name?: string })?.name ?? 'Error';
const errStatus = (e: unknown): number | undefined =>
  (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

export function createExporter(deps: ExporterDeps) {
  const { db, clock, log } = deps;
  const settle = deps.settleMs ?? 120_000;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxThrottle = deps.maxThrottleRetries ?? 5;
  const base = deps.baseBackoffMs ?? 1000;
  const rounds = deps.maxUnprocessedRounds ?? 3;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ExportReport> | undefined;

  const alert = (a: ExportAlert) => {
    log.error(a, `marketplace export ${a.kind}`);
    deps.onAlert?.(a);
  };
  const { externalSubscriptions, plan } = createPlanner({ db, clock, settle, alert });

  const toRecord = (r: MarketplaceExportTable): UsageRecord => ({
    Timestamp: new Date(Number(r.hour)),
    Dimension: r.dimension,
    Quantity: Number(r.quantity),
    ...(r.customer_identifier
      ? { CustomerIdentifier: r.customer_identifier }
      : { CustomerAWSAccountId: r.customer_aws_account_id!, LicenseArn: r.license_arn! }),
  });
  const recordKey = (r: UsageRecord) =>
    `${r.CustomerIdentifier ?? r.CustomerAWSAccountId}|${r.Dimension}|${r.Timestamp?.getTime()}`;

  async function mark(
    row: MarketplaceExportTable,
    status: ExportStatus,
    extra: Partial<MarketplaceExportTable> = {},
  ) {
    const now = clock.now();
    await db
      .updateTable('marketplace_exports')
      .set({ status, updated_at: now, ...(status === 'sent' ? { sent_at: now } : {}), ...extra })
      .where('id', '=', row.id)
      .execute();
  }

  /** Sends one batch (≤25). Returns false when the marketplace is unreachable (stop this run). */
  async function sendBatch(rows: MarketplaceExportTable[], report: ExportReport): Promise<boolean> {
    let todo = rows;
    for (let round = 0; todo.length > 0; round++) {
      const first = todo[0]!;
      const withCode = first.customer_identifier !== null;
      const input = {
        ...(withCode ? { ProductCode: first.product_code } : {}),
        UsageRecords: todo.map(toRecord),
      };
      let out: Awaited<ReturnType<ExporterDeps['metering']['send']>> | undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          report.calls++;
          out = await deps.metering.send(new BatchMeterUsageCommand(input));
          break;
        } catch (e) {
          const name = errName(e);
          const status = errStatus(e);
          for (const r of todo) {
            await mark(r, 'pending', {
              attempts: Number(r.attempts) + 1,
              last_error: `${name}: ${(e as Error).message}`,
            });
          }
          if (name === 'ThrottlingException' && attempt < maxThrottle) {
            await sleep(base * 2 ** attempt);
            continue;
          }
          if (
            name === 'ThrottlingException' ||
            name === 'InternalServiceErrorException' ||
            !status ||
            status >= 500
          ) {
            log.warn({ err: e, records: todo.length }, 'marketplace unavailable; records stay pending');
            return false;
          }
          if (name === 'TimestampOutOfBoundsException') {
            const cut = clock.now() - WINDOW + MARGIN;
            for (const r of todo) if (Number(r.hour) < cut) await expire(r, report, name);
            todo = todo.filter((r) => Number(r.hour) >= cut);
            if (todo.length === 0) return true;
          }
          if (todo.length > 1) {
            for (const r of todo) if (!(await sendBatch([r], report))) return false;
            return true;
          }
          const r = todo[0]!;
          await mark(r, 'failed', { last_error: `${name}: ${(e as Error).message}` });
          report.failed++;
          alert({
            kind: 'failed',
            subscriptionId: r.subscription_id,
            dimension: r.dimension,
            hour: Number(r.hour),
            quantity: Number(r.quantity),
            error: name,
          });
          return true;
        }
      }
      const byKey = new Map(todo.map((r) => [recordKey(toRecord(r)), r]));
      for (const res of out.Results ?? []) {
        const row = res.UsageRecord ? byKey.get(recordKey(res.UsageRecord)) : undefined;
        if (!row) continue;
        byKey.delete(recordKey(res.UsageRecord!));
        const extra = {
          attempts: Number(row.attempts) + 1,
          metering_record_id: res.MeteringRecordId ?? null,
          last_error: null,
        };
        if (res.Status === 'Success') {
          await mark(row, 'sent', extra);
          report.sent++;
        } else if (res.Status === 'DuplicateRecord') {
          await mark(row, 'duplicate', extra);
          report.duplicate++;
          alert({
            kind: 'duplicate',
            subscriptionId: row.subscription_id,
            dimension: row.dimension,
            hour: Number(row.hour),
            quantity: Number(row.quantity),
          });
        } else {
          await mark(row, 'not_subscribed', extra);
          report.notSubscribed++;
        }
      }
      const unprocessed = new Set((out.UnprocessedRecords ?? []).map(recordKey));
      todo = [...byKey.entries()].filter(([k]) => unprocessed.has(k)).map(([, r]) => r);
      for (const r of todo)
        await mark(r, 'pending', { attempts: Number(r.attempts) + 1, last_error: 'UnprocessedRecords' });
      if (todo.length && round + 1 >= rounds) return true;
      if (todo.length) await sleep(base * 2 ** round);
    }
    return true;
  }

  async function expire(r: MarketplaceExportTable, report: ExportReport, why: string) {
    await mark(r, 'expired', { last_error: why });
    report.expired++;
    alert({
      kind: 'expired',
      subscriptionId: r.subscription_id,
      dimension: r.dimension,
      hour: Number(r.hour),
      quantity: Number(r.quantity),
    });
  }

  async function deliver(report: ExportReport, only?: string): Promise<void> {
    const now = clock.now();
    let q = db
      .selectFrom('marketplace_exports')
      .selectAll()
      .where('status', '=', 'pending')
      .orderBy('hour')
      .orderBy('id');
    if (only) q = q.where('subscription_id', '=', only);
    const rows = await q.execute();
    const live: MarketplaceExportTable[] = [];
    for (const r of rows) {
      if (Number(r.hour) < now - WINDOW + MARGIN) await expire(r, report, 'outside the 6-hour window');
      else live.push(r);
    }
    const groups = new Map<string, MarketplaceExportTable[]>();
    for (const r of live) {
      const k = `${r.product_code}|${r.customer_identifier ? 'ci' : 'acct'}`;
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    for (const g of groups.values()) {
      for (let i = 0; i < g.length; i += 25) {
        if (!(await sendBatch(g.slice(i, i + 25), report))) return;
      }
    }
  }

  async function run(only: string | undefined, includePartial: boolean): Promise<ExportReport> {
    const report: ExportReport = {
      planned: 0,
      sent: 0,
      duplicate: 0,
      notSubscribed: 0,
      failed: 0,
      expired: 0,
      pending: 0,
      calls: 0,
    };
    for (const sub of await externalSubscriptions(only)) report.planned += await plan(sub, includePartial);
    await deliver(report, only);
    let q = db
      .selectFrom('marketplace_exports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending');
    if (only) q = q.where('subscription_id', '=', only);
    report.pending = Number((await q.executeTakeFirstOrThrow()).n);
    return report;
  }

  /** Serialises runs inside this process. */
  function exclusive(fn: () => Promise<ExportReport>): Promise<ExportReport> {
    const next = (running ?? Promise.resolve()).catch(() => undefined).then(fn);
    running = next;
    return next;
  }

  return {
    runOnce: () => exclusive(() => run(undefined, false)),
    /**
     * Exports a subscription's usage now. The current, partial hour is frozen only for a
     * subscription that is ending (cancel_pending/cancelled): freezing it while the key still
     * works would strand that hour's later calls, since an hour is sent once.
     */
    async flushNow(subscriptionId: string): Promise<ExportReport> {
      await deps.flushUsage?.();
      const sub = await db
        .selectFrom('subscriptions')
        .select('status')
        .where('id', '=', subscriptionId)
        .executeTakeFirst();
      const ending = sub?.status === 'cancel_pending' || sub?.status === 'cancelled';
      return exclusive(() => run(subscriptionId, ending));
    },
    async ledger(subscriptionId: string) {
      return db
        .selectFrom('marketplace_exports')
        .selectAll()
        .where('subscription_id', '=', subscriptionId)
        .orderBy('hour')
        .orderBy('dimension')
        .execute();
    },
    start(intervalMs = 5 * 60_000) {
      if (timer) return;
      timer = setInterval(() => {
        exclusive(() => run(undefined, false)).catch((err) =>
          log.error({ err }, 'marketplace export run failed'),
        );
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

export type Exporter = ReturnType<typeof createExporter>;
