/**
 * The data plane: a bare node:http server running the request path, top to bottom, one
 * step function each (src/gateway/steps), each answering CONTINUE, what it found, or a
 * Denial (denial.ts) that the one `deny()` renders:
 *
 *   licence guard → path check → CORS preflight → match route → authenticate key
 *     → spend cap → admit (throttle + quota; a public route: the licence ceiling only)
 *     → proxy (call.ts: meter by the upstream's answer) → respond
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

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LimitsBackend, ThrottleRule } from '../limits/index.js';
import type { Meter } from '../metering/index.js';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';
import { Call, type CallContext, type Refused, rejection } from './call.js';
import { applyCors, originAllowed } from './cors.js';
import { CONTINUE, Denial, notServing, type Verdict } from './denial.js';
import { drainServer } from './drain.js';
import { ALWAYS_SERVING, type GatewayObserver, NO_LEDGER, NO_OBSERVER, type ServingGuard } from './hooks.js';
import { RelayHandler, type UpstreamOptions, Upstreams, upstreamHeaders } from './proxy.js';
import type { OutageLedger } from './quota-sync.js';
import { nextRequestId } from './request-id.js';
import { sendJson } from './responses.js';
import type { Snapshot } from './snapshot.js';
import type { SnapshotHolder } from './snapshot-holder.js';
import { type AdmitEffects, admit, admitted, spendCap, underCeiling } from './steps/admit.js';
import { identify } from './steps/authenticate.js';
import { checkPath, type Match, route } from './steps/match.js';
import { preflight } from './steps/preflight.js';

export type { GatewayObserver, ServingGuard } from './hooks.js';

/** A request the gateway has already answered (an allowed CORS preflight). */
const ANSWERED = Symbol('answered');

export interface GatewayDeps {
  snapshots: SnapshotHolder;
  limits: LimitsBackend;
  /** `createMeter({ durability: 'off' })` when nothing is metered. */
  meter: Meter;
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

export class Gateway implements CallContext {
  readonly server: Server;
  readonly meter: Meter;
  readonly metering: boolean;
  readonly limits: LimitsBackend;
  readonly outage: OutageLedger;
  readonly log: Logger;
  private readonly observer: GatewayObserver;
  private readonly guard: ServingGuard;
  private readonly effects: AdmitEffects;
  private readonly upstreams: Upstreams;
  private readonly dropHeaders: ReadonlySet<string>;
  private readonly trustProxy: boolean;
  /** Set by close(): every response from now on ends its connection. */
  private closing = false;

  constructor(readonly deps: GatewayDeps) {
    this.meter = deps.meter;
    this.metering = deps.meter.metrics.durability !== 'off';
    this.limits = deps.limits;
    this.outage = deps.outage ?? NO_LEDGER;
    this.log = deps.log;
    this.observer = deps.observer ?? NO_OBSERVER;
    this.guard = deps.guard ?? ALWAYS_SERVING;
    this.effects = { observer: this.observer, outage: this.outage };
    this.trustProxy = deps.trustProxy ?? false;
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
   * Graceful drain (drain.ts), and besides: every response not yet started also ends its
   * connection (call.ts), and a request whose bytes race the idle sweep is refused before
   * it is forwarded, never cut.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    await drainServer(this.server, graceMs);
    await this.upstreams.close();
  }

  /** Draining (close() began): responses end their connections. */
  get draining(): boolean {
    return this.closing;
  }

  /** Counts a call in the metrics with the status the client got. */
  observe(who: Refused, status: number): void {
    this.observer.request(
      who.api?.id ?? '',
      who.route?.id ?? '',
      status,
      (performance.now() - who.started) / 1000,
    );
  }

  /**
   * The one renderer of every refusal: counted in the metrics, recorded as a rejection when
   * it has a code, and answered — unless the client has already gone.
   */
  deny(who: Refused, d: Denial): void {
    if (d.code !== null) this.meter.recordRejection(rejection(who, d.code));
    this.observe(who, d.status);
    if (who.res.destroyed) return;
    const fields = who.limitFields;
    sendJson(
      who.res,
      d.status,
      d.body,
      who.requestId,
      fields === null ? d.headers : { ...fields, ...d.headers },
    );
  }

  private fault(res: ServerResponse, err: unknown): void {
    this.log.error({ err }, 'gateway fault');
    sendJson(res, 500, '{"message":"Internal server error"}', '-');
  }

  /**
   * The request path, one step after another; each answers CONTINUE or a Denial. Synchronous
   * up to the upstream dispatch unless the limits backend answers with a promise.
   */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const now = this.deps.clock.now();
    const requestId = nextRequestId();
    const snapshot = this.deps.snapshots.current;
    if (this.closing) res.shouldKeepAlive = false;
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';

    const serving = this.guard.current();
    const found = serving.serving
      ? this.find(req, res, snapshot, url, method, requestId)
      : notServing(serving);
    if (found === ANSWERED) return;
    if (found instanceof Denial) {
      this.deny(
        { res, requestId, started, now, api: null, route: null, key: null, limitFields: null },
        found,
      );
      return;
    }
    const call = new Call(this, res, found.api, found.route, found.upstreamPath, started, now, requestId);
    const origin = req.headers.origin;
    const cors = found.api.cors;
    if (origin !== undefined && cors !== null && originAllowed(cors, origin)) applyCors(res, origin);
    const ceiling = serving.serving ? serving.throttle : null;
    if (found.route.public) this.publicCall(call, req, ceiling);
    else this.keyedCall(call, req, snapshot, ceiling);
  }

  /** The steps before a route is known: the path check, a CORS preflight, the match. */
  private find(
    req: IncomingMessage,
    res: ServerResponse,
    snapshot: Snapshot,
    url: string,
    method: string,
    requestId: string,
  ): Match | Denial | typeof ANSWERED {
    const pathVerdict = checkPath(url);
    if (pathVerdict !== CONTINUE) return pathVerdict;
    if (method === 'OPTIONS') {
      const pre = preflight(snapshot, req.headers, url);
      if (pre instanceof Denial) return pre;
      if (pre !== null) {
        this.answerPreflight(res, requestId, pre);
        return ANSWERED;
      }
    }
    return route(snapshot, req.headers.host, method, url);
  }

  /** No key; only a licence's rate ceiling may hold it back. */
  private publicCall(call: Call, req: IncomingMessage, ceiling: ThrottleRule | null): void {
    if (ceiling === null) {
      this.forward(call, req);
      return;
    }
    const d = this.limits.admit({ throttles: [ceiling] }, call.now);
    if (d instanceof Promise) {
      d.then(
        (v) => this.proceed(call, req, underCeiling(v, ceiling, this.effects)),
        (err: unknown) => this.fault(call.res, err),
      );
      return;
    }
    this.proceed(call, req, underCeiling(d, ceiling, this.effects));
  }

  /** Authenticate, the spend cap, then admit (throttles and quota, all or nothing). */
  private keyedCall(
    call: Call,
    req: IncomingMessage,
    snapshot: Snapshot,
    ceiling: ThrottleRule | null,
  ): void {
    const { api, now } = call;
    const key = identify(snapshot, req.headers['x-api-key'], api.id, now);
    if (key instanceof Denial) {
      this.deny(call, key);
      return;
    }
    call.key = key;
    const capped = spendCap(key, now);
    if (capped !== CONTINUE) {
      this.deny(call, capped);
      return;
    }
    const a = admit(this.limits, snapshot, key, call.route, now, ceiling, api.rateLimitHeaders);
    if (a instanceof Promise) {
      a.then(
        (v) => this.proceed(call, req, admitted(v, call, key, now, this.effects)),
        (err: unknown) => this.fault(call.res, err),
      );
      return;
    }
    this.proceed(call, req, admitted(a, call, key, now, this.effects));
  }

  /** The last step: forward, or deny. */
  private proceed(call: Call, req: IncomingMessage, v: Verdict): void {
    if (v === CONTINUE) this.forward(call, req);
    else this.deny(call, v);
  }

  /** An allowed preflight: answered here, neither metered nor counted as a call. */
  private answerPreflight(res: ServerResponse, requestId: string, headers: Record<string, string>): void {
    headers['x-request-id'] = requestId;
    res.writeHead(204, headers);
    res.end();
  }

  private forward(call: Call, req: IncomingMessage): void {
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
      this.trustProxy,
    );
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const handler = new RelayHandler(call.res, requestId, call, this.dropHeaders);
    handler.arm(api.timeoutMs);
    this.upstreams.pool(api.origin).dispatch(
      {
        origin: api.origin,
        path: call.upstreamPath,
        method: (req.method ?? 'GET') as 'GET',
        headers,
        body: hasBody ? req : null,
        // The API's timeout is the handler's own timer (armed above, from dispatch). undici's
        // headers timer would only repeat it later, and costs a timer made and cleared per call.
        headersTimeout: 0,
      },
      handler,
    );
  }
}
