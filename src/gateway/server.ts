/**
 * The data plane: a bare node:http server running the request pipeline of DESIGN.md,
 * top to bottom:
 *
 *   match route → authenticate key → admit (throttle + quota) → proxy → meter → respond
 *
 * Cheap static checks come first and anything that spends (the quota) last, so a refused
 * call never burns paid quota. Quota spent on a call that turns out not billable (upstream
 * 5xx, 502, 504, or a response body that failed after its head) is given back, so the quota
 * a user sees and the usage billed agree. A client that leaves after its request was
 * forwarded gets no refund: the call is metered by the upstream's answer, or as billable if
 * the upstream never answers within the route's timeout (docs/metering.md).
 * Nothing here touches the database: the snapshot is in memory, limits are in memory or
 * Redis, and metering aggregates in memory (or group-commits to its log in strict mode).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Decision, LimitsBackend, ThrottleRule } from '../limits/index.js';
import type { Meter, RejectionEvent, UsageEvent } from '../metering/index.js';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';
import { applyCors, originAllowed, preflightHeaders } from './cors.js';
import { isSafePath } from './paths.js';
import { RelayHandler, type RelayHooks, type UpstreamOptions, Upstreams, upstreamHeaders } from './proxy.js';
import type { OutageLedger, QuotaRef } from './quota-sync.js';
import { nextRequestId } from './request-id.js';
import { BODY, limitHeaders, rateLimitField, sendJson } from './responses.js';
import type { CompiledApi, CompiledRoute, KeyEntry, Snapshot, SnapshotHolder } from './snapshot.js';
import { type AdmitOutcome, admit } from './steps/admit.js';
import { authenticate } from './steps/authenticate.js';
import { matchRequest } from './steps/match.js';

/** Hooks for metrics; called once per request with what happened. */
export interface GatewayObserver {
  /** `status` is what the client got (gateway answers included: 403, 429, 502, 504…). */
  request(apiId: string, routeId: string, status: number, seconds: number): void;
  limitsUnavailable(failOpen: boolean): void;
}

/**
 * The licence check of a wholesale deployment (src/licences); absent for a normal install.
 * `current()` is read on every request, so it must be a cheap lookup of the last decision.
 * A licence may carry a deployment-wide rate ceiling, enforced as one more throttle.
 */
export interface ServingGuard {
  current():
    | { serving: true; throttle: ThrottleRule | null }
    | { serving: false; status: number; body: { message: string } };
}

export interface GatewayDeps {
  snapshots: SnapshotHolder;
  limits: LimitsBackend;
  meter: Meter | null;
  clock: Clock;
  log: Logger;
  upstream: UpstreamOptions;
  /** Judges every upstream connection (docs/outbound.md). */
  outbound: OutboundPolicy;
  trustProxy?: boolean;
  observer?: GatewayObserver;
  guard?: ServingGuard;
  /** Upstream response headers never relayed (lower-case), besides `x-tollgate-*`. Default: `server`. */
  dropResponseHeaders?: readonly string[];
  /** Counts calls served fail-open, to be reconciled into the limit store (quota-sync.ts). */
  outage?: OutageLedger;
}

export class Gateway {
  readonly server: Server;
  private readonly upstreams: Upstreams;
  /** Set by close(): every response from now on ends its connection. */
  private draining = false;
  private readonly dropHeaders: ReadonlySet<string>;

  constructor(readonly deps: GatewayDeps) {
    this.upstreams = new Upstreams(deps.upstream, deps.outbound);
    this.dropHeaders = new Set((deps.dropResponseHeaders ?? ['server']).map((h) => h.toLowerCase()));
    this.server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
      try {
        this.handle(req, res);
      } catch (err) {
        this.fault(res, err);
      }
    });
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Graceful drain: stop accepting, close idle keep-alive sockets, and answer every further
   * request (and every response not yet started) with `Connection: close`, so each busy
   * connection ends after its current exchange. Idle sockets are swept every 20 ms (a
   * response that finished with keep-alive leaves its socket idle); a request whose bytes
   * race that sweep is refused before it is forwarded, never cut. Resolves as soon as the
   * last connection is gone; after `graceMs` whatever is still open is cut.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const sweep = setInterval(() => this.server.closeIdleConnections(), 20);
    const cut = setTimeout(() => this.server.closeAllConnections(), graceMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(cut);
    await this.upstreams.close();
  }

  /** Draining (close() began): responses end their connections. Read per call by Call. */
  get isDraining(): boolean {
    return this.draining;
  }

  private fault(res: ServerResponse, err: unknown): void {
    this.deps.log.error({ err }, 'gateway fault');
    sendJson(res, 500, '{"message":"Internal server error"}', '-');
  }

  /** Synchronous up to the upstream dispatch unless the limits backend answers with a promise. */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { snapshots, limits, meter, clock } = this.deps;
    const started = performance.now();
    const now = clock.now();
    const requestId = nextRequestId();
    const snapshot = snapshots.current;
    if (this.draining) res.shouldKeepAlive = false;

    let ceiling: ThrottleRule | null = null;
    if (this.deps.guard) {
      const g = this.deps.guard.current();
      if (!g.serving) {
        sendJson(res, g.status, JSON.stringify(g.body), requestId);
        return;
      }
      ceiling = g.throttle;
    }

    const url = req.url ?? '/';
    if (!isSafePath(url)) {
      meter?.recordRejection(rejection(null, null, null, 'BAD_PATH', now));
      sendJson(res, 400, BODY.badRequest, requestId);
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS' && this.preflight(req, res, snapshot, requestId)) return;
    const match = matchRequest(snapshot, req.headers.host, method, req.url ?? '/');
    if (!match) {
      meter?.recordRejection(rejection(null, null, null, 'NO_ROUTE', now));
      sendJson(res, 404, BODY.notFound, requestId);
      return;
    }
    const call = new Call(this, res, match.api, match.route, started, now, requestId);
    const { api, route } = match;
    const origin = req.headers.origin;
    if (origin !== undefined && api.cors !== null && originAllowed(api.cors, origin)) applyCors(res, origin);

    if (!route.public) {
      const auth = authenticate(snapshot, req.headers['x-api-key'], api.id, now);
      if (!auth.ok) {
        meter?.recordRejection(rejection(api.id, route.id, null, 'FORBIDDEN', now));
        call.observe(403);
        sendJson(res, 403, BODY.forbidden, requestId);
        return;
      }
      call.key = auth.key;
      if (auth.key.cappedUntil > now) {
        // the buyer's own spend cap: refused like a spent quota, until the budget window ends
        meter?.recordRejection(rejection(api.id, route.id, auth.key, 'QUOTA_EXCEEDED', now));
        call.observe(429);
        sendJson(res, 429, BODY.quota, requestId, {
          'retry-after': String(Math.ceil((auth.key.cappedUntil - now) / 1000)),
        });
        return;
      }
      const pending = admit(limits, snapshot, auth.key, route, now, ceiling, api.rateLimitHeaders);
      if (pending instanceof Promise) {
        pending.then(
          (a) => this.admitted(call, req, match.upstreamPath, a),
          (err: unknown) => this.fault(res, err),
        );
        return;
      }
      this.admitted(call, req, match.upstreamPath, pending);
      return;
    }
    if (ceiling) {
      const pending = limits.admit({ throttles: [ceiling] }, now);
      if (pending instanceof Promise) {
        pending.then(
          (d) => this.ceilingChecked(call, req, match.upstreamPath, d),
          (err: unknown) => this.fault(res, err),
        );
        return;
      }
      this.ceilingChecked(call, req, match.upstreamPath, pending);
      return;
    }
    this.forward(call, req, match.upstreamPath);
  }

  /**
   * A CORS preflight to an API that has CORS settings: answered here, keyless, unmetered
   * (see cors.ts). The route is found with the method the browser asks about. Returns false
   * when the request is not such a preflight, so it is handled as any other call.
   */
  private preflight(
    req: IncomingMessage,
    res: ServerResponse,
    snapshot: Snapshot,
    requestId: string,
  ): boolean {
    const asked = req.headers['access-control-request-method'];
    const origin = req.headers.origin;
    if (typeof asked !== 'string' || origin === undefined) return false;
    const match = matchRequest(snapshot, req.headers.host, asked.toUpperCase(), req.url ?? '/');
    const cors = match?.api.cors;
    if (!cors) return false;
    if (!originAllowed(cors, origin)) {
      sendJson(res, 403, BODY.forbidden, requestId, { vary: 'Origin' });
      return true;
    }
    res.writeHead(204, { ...preflightHeaders(cors, origin), 'x-request-id': requestId });
    res.end();
    return true;
  }

  private admitted(call: Call, req: IncomingMessage, upstreamPath: string, a: AdmitOutcome): void {
    const { api, route, key, res, requestId, now } = call;
    const { meter, observer } = this.deps;
    if (a.ok) {
      call.quota = a.quota;
      const policy = key!.plan.ratePolicy;
      if (a.left !== undefined && policy !== null) {
        res.setHeader('ratelimit-policy', policy);
        res.setHeader('ratelimit', rateLimitField(key!.plan.throttle, key!.plan.quota !== null, a.left, now));
      }
      this.forward(call, req, upstreamPath);
      return;
    }
    if (a.code === 'LIMITS_UNAVAILABLE') {
      observer?.limitsUnavailable(a.failOpen);
      if (a.failOpen) {
        if (a.quota && this.deps.outage) {
          call.servedOpen = a.quota;
          this.deps.outage.count(a.quota);
        }
        this.forward(call, req, upstreamPath);
        return;
      }
      meter?.recordRejection(rejection(api.id, route.id, key, 'LIMITS_UNAVAILABLE', now));
      call.observe(503);
      sendJson(res, 503, BODY.unavailable, requestId, { 'retry-after': '1' });
      return;
    }
    const isQuota = a.code === 'QUOTA_EXCEEDED';
    meter?.recordRejection(rejection(api.id, route.id, key, a.code, now));
    call.observe(429);
    sendJson(
      res,
      429,
      isQuota ? BODY.quota : BODY.throttled,
      requestId,
      limitHeaders({
        retryAfterMs: a.retryAfterMs,
        policy: isQuota ? 'quota' : 'throttle',
        quota: a.limit,
        windowSeconds: a.windowSeconds,
        remaining: a.remaining,
        resetSeconds: a.retryAfterMs / 1000,
      }),
    );
  }

  private ceilingChecked(call: Call, req: IncomingMessage, upstreamPath: string, d: Decision): void {
    if (!d.ok && d.code === 'THROTTLED') {
      call.observe(429);
      sendJson(call.res, 429, BODY.throttled, call.requestId, {
        'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))),
      });
      return;
    }
    this.forward(call, req, upstreamPath);
  }

  private forward(call: Call, req: IncomingMessage, upstreamPath: string): void {
    const { api, key, requestId } = call;
    const socket = req.socket;
    const headers = upstreamHeaders(
      req,
      {
        requestId,
        clientIp: socket.remoteAddress ?? '',
        proto: (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
        consumerId: key?.consumerId,
        subscriptionId: key?.subscriptionId,
      },
      this.deps.trustProxy ?? false,
    );
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const handler = new RelayHandler(call.res, requestId, call, this.dropHeaders);
    handler.arm(api.timeoutMs);
    this.upstreams.pool(api.origin).dispatch(
      {
        origin: api.origin,
        path: upstreamPath,
        method: (req.method ?? 'GET') as 'GET',
        headers,
        body: hasBody ? req : null,
        headersTimeout: api.timeoutMs,
      },
      handler,
    );
  }
}

/**
 * One proxied call's state and the relay's callbacks, in one object: the hot path allocates
 * this and the RelayHandler, no closures.
 */
class Call implements RelayHooks {
  readonly deps: GatewayDeps;
  key: KeyEntry | null = null;
  /** The quota unit this call spent, to give back if the call turns out not billable. */
  quota: { key: string; windowStart: number } | null = null;
  /** Served fail-open: the quota window it was counted in locally (given back the same way). */
  servedOpen: QuotaRef | null = null;
  /** The usage event recorded for this call, once metered. */
  private event: UsageEvent | null = null;

  constructor(
    private readonly gateway: Gateway,
    readonly res: ServerResponse,
    readonly api: CompiledApi,
    readonly route: CompiledRoute,
    readonly started: number,
    readonly now: number,
    readonly requestId: string,
  ) {
    this.deps = gateway.deps;
  }

  /** Counts the call in the metrics with the status the client got. */
  observe(status: number): void {
    this.deps.observer?.request(
      this.api.id,
      this.route.id,
      status,
      (performance.now() - this.started) / 1000,
    );
  }

  onHead(status: number, upstream: IncomingHttpHeaders): undefined | Promise<unknown> {
    if (this.gateway.isDraining) this.res.shouldKeepAlive = false; // began before the drain
    this.observe(status);
    const key = this.key;
    if (!key) return undefined;
    const billable = key.plan.billable(status);
    if (!billable) this.giveBack();
    if (!this.deps.meter) return undefined;
    // The upstream may say what a call cost (e.g. characters processed); the route's
    // units are the default. Only a plain integer in range is believed.
    const reported = upstream['x-tollgate-units'];
    const n = typeof reported === 'string' && /^\d{1,10}$/.test(reported) ? Number(reported) : -1;
    const declared = Number(upstream['content-length']);
    const r = this.meterCall(
      status,
      n >= 0 && n <= 1e9 ? n : this.route.units,
      billable,
      Number.isFinite(declared) ? declared : 0,
    );
    return r === undefined ? undefined : r;
  }

  onFail(kind: 'timeout' | 'error', err: Error, clientGone: boolean): void {
    const { api, route, deps } = this;
    const status = kind === 'timeout' ? 504 : 502;
    this.observe(status);
    if (clientGone && kind === 'timeout' && this.key) {
      // Forwarded, then the client left and the upstream never answered: the upstream
      // may well have done the work, so the call stays billed and its quota spent.
      const r = this.meterCall(status, route.units, true, 0);
      if (r) r.catch(() => {}); // a failed log write is logged by the meter's flush path
      return;
    }
    this.giveBack();
    deps.log.warn({ requestId: this.requestId, api: api.id, err: err.message }, 'upstream failed');
    deps.meter?.recordRejection(
      rejection(
        api.id,
        route.id,
        this.key,
        kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR',
        this.now,
      ),
    );
    if (!clientGone)
      sendJson(this.res, status, kind === 'timeout' ? BODY.timeout : BODY.badGateway, this.requestId);
  }

  onBodyFail(err: Error): void {
    // Delivered only in part: not billed, quota given back (strict: a reversal entry).
    this.deps.log.warn(
      { requestId: this.requestId, api: this.api.id, err: err.message },
      'upstream body failed',
    );
    const event = this.event;
    if (!event?.billable) return;
    this.giveBack();
    const r = this.deps.meter?.reverse(event);
    if (r) r.catch(() => {});
  }

  onDone(): void {}

  private meterCall(status: number, units: number, billable: boolean, bytes: number) {
    const { key, deps } = this;
    if (!key || !deps.meter) return undefined;
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
    return deps.meter.record(event);
  }

  private giveBack(): void {
    if (this.servedOpen) this.deps.outage?.giveBack(this.servedOpen);
    const quota = this.quota;
    if (!quota) return;
    const r = this.deps.limits.refund(quota.key, quota.windowStart);
    // A refund lost to a limit-store outage errs towards the subscriber having used more.
    if (r instanceof Promise)
      r.catch((err: Error) => this.deps.log.warn({ err: err.message }, 'quota refund failed'));
  }
}

function rejection(
  apiId: string | null,
  routeId: string | null,
  key: { subscriptionId: string; keyId: string } | null,
  code: RejectionEvent['code'],
  at: number,
): RejectionEvent {
  return { apiId, routeId, subscriptionId: key?.subscriptionId ?? null, keyId: key?.keyId ?? null, code, at };
}
