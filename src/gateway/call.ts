/**
 * One matched call: its state along the request path, and the relay's callbacks once it is
 * forwarded (metering by the upstream's answer, giving quota back for a call that turns out
 * not billable). The hot path allocates this and the RelayHandler per call, no closures.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { LimitsBackend } from '../limits/index.js';
import type { Meter, RejectionEvent, UsageEvent } from '../metering/index.js';
import type { Logger } from '../shared/index.js';
import { DENIED, type Denial } from './denial.js';
import type { OutageLedger, QuotaRef } from './quota-sync.js';
import type { CompiledApi, CompiledRoute, KeyEntry } from './snapshot.js';
import type { AdmitTarget } from './steps/admit.js';

/** Who is refused: enough for `deny()` to render, count and record the refusal. */
export interface Refused {
  readonly res: ServerResponse;
  readonly requestId: string;
  /** performance.now() at arrival. */
  readonly started: number;
  /** Clock time at arrival (ms). */
  readonly now: number;
  readonly api: CompiledApi | null;
  readonly route: CompiledRoute | null;
  readonly key: KeyEntry | null;
  /** The RateLimit fields of an admitted call, which every answer to it carries. */
  readonly limitFields: Record<string, string> | null;
}

/** What a call needs of the gateway (server.ts), every part present. */
export interface CallContext {
  readonly meter: Meter;
  /** False when metering is off: no usage event is built at all. */
  readonly metering: boolean;
  readonly limits: LimitsBackend;
  readonly outage: OutageLedger;
  readonly log: Logger;
  readonly draining: boolean;
  deny(who: Refused, d: Denial): void;
  observe(who: Refused, status: number): void;
}

/** An upstream's own report of what a call cost: only a plain integer in range is believed. */
const UNITS = /^\d{1,10}$/;

export class Call implements Refused, AdmitTarget {
  key: KeyEntry | null = null;
  quota: { key: string; windowStart: number } | null = null;
  servedOpen: QuotaRef | null = null;
  limitFields: Record<string, string> | null = null;
  /** The usage event recorded for this call, once metered. */
  private event: UsageEvent | null = null;

  constructor(
    private readonly gateway: CallContext,
    readonly res: ServerResponse,
    readonly api: CompiledApi,
    readonly route: CompiledRoute,
    readonly upstreamPath: string,
    readonly started: number,
    readonly now: number,
    readonly requestId: string,
  ) {}

  onHead(status: number, upstream: IncomingHttpHeaders): undefined | Promise<unknown> {
    const gw = this.gateway;
    if (gw.draining) this.res.shouldKeepAlive = false; // began before the drain
    gw.observe(this, status);
    const key = this.key;
    if (!key) return undefined;
    const billable = key.plan.billable(status);
    if (!billable) this.giveBack();
    if (!gw.metering) return undefined;
    // The upstream may say what a call cost (e.g. characters processed); the route's units
    // are the default.
    const reported = upstream['x-tollgate-units'];
    const n = typeof reported === 'string' && UNITS.test(reported) ? Number(reported) : -1;
    const declared = Number(upstream['content-length']);
    const r = this.meterCall(
      key,
      status,
      n >= 0 && n <= 1e9 ? n : this.route.units,
      billable,
      Number.isFinite(declared) ? declared : 0,
    );
    return r === undefined ? undefined : r;
  }

  onFail(kind: 'timeout' | 'error', err: Error, clientGone: boolean): void {
    const gw = this.gateway;
    if (clientGone && kind === 'timeout' && this.key) {
      // Forwarded, then the client left and the upstream never answered: the upstream may
      // well have done the work, so the call stays billed and its quota spent.
      gw.observe(this, 504);
      const r = this.meterCall(this.key, 504, this.route.units, true, 0);
      if (r) r.catch(() => {}); // a failed log write is logged by the meter's flush path
      return;
    }
    this.giveBack();
    gw.log.warn({ requestId: this.requestId, api: this.api.id, err: err.message }, 'upstream failed');
    gw.deny(this, kind === 'timeout' ? DENIED.upstreamTimeout : DENIED.upstreamError);
  }

  onBodyFail(err: Error): void {
    // Delivered only in part: not billed, quota given back (strict: a reversal entry).
    this.gateway.log.warn(
      { requestId: this.requestId, api: this.api.id, err: err.message },
      'upstream body failed',
    );
    const event = this.event;
    if (!event?.billable) return;
    this.giveBack();
    const r = this.gateway.meter.reverse(event);
    if (r) r.catch(() => {});
  }

  onDone(): void {}

  private meterCall(key: KeyEntry, status: number, units: number, billable: boolean, bytes: number) {
    if (!this.gateway.metering) return undefined;
    const event: UsageEvent = {
      subscriptionId: key.subscriptionId,
      keyId: key.keyId,
      apiId: this.api.id,
      routeId: this.route.id,
      dimension: this.route.dimension,
      units,
      status,
      bytes,
      latencyMs: performance.now() - this.started,
      at: this.now,
      billable,
    };
    this.event = event;
    return this.gateway.meter.record(event);
  }

  private giveBack(): void {
    const gw = this.gateway;
    if (this.servedOpen) gw.outage.giveBack(this.servedOpen);
    const quota = this.quota;
    if (!quota) return;
    const r = gw.limits.refund(quota.key, quota.windowStart);
    // A refund lost to a limit-store outage errs towards the subscriber having used more.
    if (r instanceof Promise)
      r.catch((err: Error) => gw.log.warn({ err: err.message }, 'quota refund failed'));
  }
}

/** The rejection event of a refusal (ids unknown before matching are null). */
export function rejection(who: Refused, code: RejectionEvent['code']): RejectionEvent {
  return {
    apiId: who.api?.id ?? null,
    routeId: who.route?.id ?? null,
    subscriptionId: who.key?.subscriptionId ?? null,
    keyId: who.key?.keyId ?? null,
    code,
    at: who.now,
  };
}
