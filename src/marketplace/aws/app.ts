/**
 * The AWS-compatible marketplace endpoint: awsJson1_1 over `POST /`, dispatched on
 * `X-Amz-Target` (AWSMPMeteringService.* and AWSMPEntitlementService.GetEntitlements),
 * SigV4-authenticated with Tollgate-issued credentials. Mount it on the console at `/`;
 * requests without an `x-amz-target` header fall through (`next()`), so the portal can
 * share the path.
 * Errors: status 400 (500 for internal faults), header `x-amzn-errortype`, body
 * `{"__type","message"}` — what the official SDK parses into its named exceptions.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { incomingRequest, verifySigV4 } from '../../aws/index.js';
import type { Clock, Logger } from '../../shared/index.js';
import type { Db } from '../../store/index.js';
import type { ResolvedCredentials } from '../credentials.js';
import { createCredentials } from '../credentials.js';
import { createMarketplaceEntitlements } from './entitlements.js';
import { AwsError } from './errors.js';
import { createMarketplaceMetering } from './metering.js';
import { MARKETPLACE_SIGNING_SERVICE } from './wire.js';

export interface MarketplaceAwsDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Server key that seals the credentials' secrets (configuration, never the database). */
  secretKey: string | Buffer;
  /** Largest accepted body; AWS's limit for BatchMeterUsage is 1 MB. */
  maxBodyBytes?: number;
}

type Handler = (creds: ResolvedCredentials, body: Record<string, unknown>) => Promise<unknown>;

export function createMarketplaceAwsApp(deps: MarketplaceAwsDeps): Hono {
  const credentials = createCredentials(deps);
  const metering = createMarketplaceMetering(deps);
  const entitlements = createMarketplaceEntitlements(deps);
  const ops: Record<string, Handler> = {
    'AWSMPMeteringService.ResolveCustomer': metering.resolveCustomer,
    'AWSMPMeteringService.BatchMeterUsage': metering.batchMeterUsage,
    'AWSMPMeteringService.MeterUsage': metering.meterUsage,
    'AWSMPEntitlementService.GetEntitlements': entitlements.getEntitlements,
  };
  const maxBody = deps.maxBodyBytes ?? 1_048_576;
  const app = new Hono();

  // The body is capped before it is read whole (a chunked body is counted as it streams in).
  const cap = bodyLimit({
    maxSize: maxBody,
    onError: (c) =>
      c.body(
        JSON.stringify({
          __type: 'ValidationException',
          message: `Request must be smaller than ${maxBody} bytes.`,
        }),
        400,
        {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'ValidationException',
          connection: 'close', // the rest of the body is not read
        },
      ),
  });

  app.post('/', (c, next) => (c.req.header('x-amz-target') ? cap(c, next) : next()));
  app.post('/', async (c, next) => {
    const target = c.req.header('x-amz-target');
    if (!target) return next();
    const reply = (status: number, payload: unknown, errType?: string) => {
      const headers: Record<string, string> = {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': crypto.randomUUID(),
      };
      if (errType) headers['x-amzn-errortype'] = errType;
      return c.body(JSON.stringify(payload), status as 200, headers);
    };
    try {
      const raw = await c.req.text();
      const req = incomingRequest(c.req.raw, raw);
      const headers = req.headers;
      const creds = await verifySigV4(req, {
        service: MARKETPLACE_SIGNING_SERVICE,
        clock: deps.clock,
        resolve: credentials.resolve,
      });
      await credentials.touch(creds.accessKeyId);
      const op = ops[target];
      if (!op) throw new AwsError('UnknownOperationException', `Unknown operation ${target}`);
      const ct = (headers['content-type'] ?? '').split(';')[0]!.trim();
      if (ct !== 'application/x-amz-json-1.1' && ct !== 'application/x-amz-json-1.0') {
        throw new AwsError('SerializationException', 'Expected content-type application/x-amz-json-1.1.');
      }
      let body: unknown;
      try {
        body = raw === '' ? {} : JSON.parse(raw);
      } catch {
        throw new AwsError('SerializationException', 'The request body is not valid JSON.');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new AwsError('SerializationException', 'The request body must be a JSON object.');
      }
      const out = await op(creds, body as Record<string, unknown>);
      return reply(200, out);
    } catch (e) {
      if (e instanceof AwsError) {
        deps.log.debug({ target, type: e.type }, 'marketplace aws request refused');
        return reply(e.status, { __type: e.type, message: e.message }, e.type);
      }
      deps.log.error({ err: e, target }, 'marketplace aws request failed');
      return reply(
        500,
        { __type: 'InternalServiceErrorException', message: 'Internal error.' },
        'InternalServiceErrorException',
      );
    }
  });
  return app;
}
