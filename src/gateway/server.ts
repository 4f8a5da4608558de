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
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LimitsBackend, ThrottleRule } from '../limits/index.js';
import type { Meter, RejectionEvent, UsageEvent } from '../metering/index.js';
import type { Clock, Logger } from '../shared/index.js';
import { RelayHandler, type UpstreamOptions, Upstreams, upstreamHeaders } from './proxy.js';
import { BODY, limitHeaders, sendJson } from './responses.js';
import type { SnapshotHolder } from './snapshot.js';
import { admit } from './steps/admit.js';
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
  trustProxy?: boolean;
  observer?: GatewayObserver;
  guard?: ServingGuard;
  /** Upstream response headers never relayed (lower-case), besides `x-tollgate-*`. Default: `server`. */
  dropResponseHeaders?: readonly string[];
}

export class Gateway {
  readonly server: Server;
  private readonly upstreams: Upstreams;
  /** Set by close(): every response from now on ends its connection. */
  private draining = false;
  private readonly dropHeaders: ReadonlySet<string>;

  constructor(private readonly deps: GatewayDeps) {
    this.upstreams = new Upstreams(deps.upstream);
    this.dropHeaders = new Set((deps.dropResponseHeaders ?? ['server']).map((h) => h.toLowerCase()));
    this.server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        deps.log.error({ err }, 'gateway fault');
        sendJson(res, 500, '{"message":"Internal server error"}', '-');
      });
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { snapshots, limits, meter, clock, observer } = this.deps;
    const started = performance.now();
    const now = clock.now();
    const requestId = randomUUID();
    const snapshot = snapshots.current;
    if (this.draining) res.shouldKeepAlive = false;

    let ceiling: ThrottleRule | null = null;
    if (this.deps.guard) {
      const g = this.deps.guard.current();
      if (!g.serving) return sendJson(res, g.status, JSON.stringify(g.body), requestId);
      ceiling = g.throttle;
    }

    const method = req.method ?? 'GET';
    const match = matchRequest(snapshot, req.headers.host, method, req.url ?? '/');
    if (!match) {
      meter?.recordRejection(rejection(null, null, null, 'NO_ROUTE', now));
      return sendJson(res, 404, BODY.notFound, requestId);
    }
    const { api, route } = match;
    const done = (status: number) =>
      observer?.request(api.id, route.id, status, (performance.now() - started) / 1000);

    let key = null;
    let quota: { key: string; windowStart: number } | null = null;
    if (!route.public) {
      const auth = authenticate(snapshot, req.headers['x-api-key'], api.id, now);
      if (!auth.ok) {
        meter?.recordRejection(rejection(api.id, route.id, null, 'FORBIDDEN', now));
        done(403);
        return sendJson(res, 403, BODY.forbidden, requestId);
      }
      key = auth.key;
      const pending = admit(limits, snapshot, key, route, now, ceiling);
      const a = pending instanceof Promise ? await pending : pending;
      if (!a.ok) {
        if (a.code === 'LIMITS_UNAVAILABLE') {
          observer?.limitsUnavailable(a.failOpen);
          if (!a.failOpen) {
            meter?.recordRejection(rejection(api.id, route.id, key, 'LIMITS_UNAVAILABLE', now));
            done(503);
            return sendJson(res, 503, BODY.unavailable, requestId, { 'retry-after': '1' });
          }
        } else {
          const isQuota = a.code === 'QUOTA_EXCEEDED';
          meter?.recordRejection(rejection(api.id, route.id, key, a.code, now));
          done(429);
          return sendJson(
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
      } else {
        quota = a.quota;
      }
    }

    if (route.public && ceiling) {
      const d = await limits.admit({ throttles: [ceiling] }, now);
      if (!d.ok && d.code === 'THROTTLED') {
        done(429);
        return sendJson(res, 429, BODY.throttled, requestId, {
          'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))),
        });
      }
    }

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
    const giveBack = () => {
      if (!quota) return;
      const r = limits.refund(quota.key, quota.windowStart);
      // A refund lost to a limit-store outage errs towards the subscriber having used more.
      if (r instanceof Promise)
        r.catch((err: Error) => this.deps.log.warn({ err: err.message }, 'quota refund failed'));
    };

    let event: UsageEvent | null = null;
    const meterCall = (status: number, units: number, billable: boolean) => {
      if (!key || !meter) return undefined;
      event = {
        subscriptionId: key.subscriptionId,
        keyId: key.keyId,
        apiId: api.id,
        routeId: route.id,
        dimension: route.dimension,
        units,
        status,
        bytes: 0,
        latencyMs: performance.now() - started,
        at: now,
        billable,
      };
      return meter.record(event);
    };

    const handler = new RelayHandler(
      res,
      requestId,
      {
        onHead: (status, upstream) => {
          if (this.draining) res.shouldKeepAlive = false; // began before the drain
          done(status);
          if (!key) return undefined;
          const billable = key.plan.billable(status);
          if (!billable) giveBack();
          if (!meter) return undefined;
          // The upstream may say what a call cost (e.g. characters processed); the route's
          // units are the default. Only a plain integer in range is believed.
          const reported = upstream['x-tollgate-units'];
          const n = typeof reported === 'string' && /^\d{1,10}$/.test(reported) ? Number(reported) : -1;
          const r = meterCall(status, n >= 0 && n <= 1e9 ? n : route.units, billable);
          const declared = Number(upstream['content-length']);
          if (event && Number.isFinite(declared)) event.bytes = declared;
          return r === undefined ? undefined : r;
        },
        onFail: (kind, err, clientGone) => {
          const status = kind === 'timeout' ? 504 : 502;
          done(status);
          if (clientGone && kind === 'timeout' && key) {
            // Forwarded, then the client left and the upstream never answered: the upstream
            // may well have done the work, so the call stays billed and its quota spent.
            const r = meterCall(status, route.units, true);
            if (r) r.catch(() => {}); // a failed log write is logged by the meter's flush path
            return;
          }
          giveBack();
          this.deps.log.warn({ requestId, api: api.id, err: err.message }, 'upstream failed');
          meter?.recordRejection(
            rejection(api.id, route.id, key, kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR', now),
          );
          if (!clientGone)
            sendJson(res, status, kind === 'timeout' ? BODY.timeout : BODY.badGateway, requestId);
        },
        onBodyFail: (err) => {
          // Delivered only in part: not billed, quota given back (strict: a reversal entry).
          this.deps.log.warn({ requestId, api: api.id, err: err.message }, 'upstream body failed');
          if (!event?.billable) return;
          giveBack();
          const r = meter?.reverse(event);
          if (r) r.catch(() => {});
        },
        onDone: () => {},
      },
      this.dropHeaders,
    );

    handler.arm(api.timeoutMs);
    this.upstreams.pool(api.origin).dispatch(
      {
        origin: api.origin,
        path: match.upstreamPath,
        method: method as 'GET',
        headers,
        body: hasBody ? req : null,
        headersTimeout: api.timeoutMs,
      },
      handler,
    );
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
