/**
 * The API Gateway subset on a real socket, mounted under /apigateway as the console mounts
 * it, over a real store; two providers (Alpha with a pets API, Beta), an operator token and
 * Alpha's provider token; SDK clients signing with SigV4 or sending a bearer token.
 */
import type { AddressInfo } from 'node:net';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import {
  bearerMiddleware,
  createApiGatewayApp,
  createApigwCredentials,
  createKeyValueVault,
} from '../../src/apigw/index.js';
import { type Actor, type Catalog, createCatalog, SYSTEM } from '../../src/catalog/index.js';
import { type ProductService, planProductLink } from '../../src/marketplace/index.js';
import { createProducts } from '../../src/marketplace/products.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import type { TestStore } from '../helpers/stores.js';

export interface ApigwHarness {
  url: string;
  store: Store;
  catalog: Catalog;
  /** The marketplace product whose productCode links plans to. */
  products: ProductService;
  clock: ManualClock;
  alpha: { providerId: string; apiId: string; routes: Record<string, string> };
  beta: { providerId: string; apiId: string; planId: string };
  operator: string;
  provider: { id: string; value: string };
  /** SigV4 credentials issued for Alpha's token. */
  providerCreds: { accessKeyId: string; secretAccessKey: string };
  /** Alpha's token, SigV4-signed with the stock SDK credentials. */
  sigv4: APIGatewayClient;
  /** The operator token as Authorization: Bearer (SDK middleware). */
  bearer: APIGatewayClient;
  client(credentials: { accessKeyId: string; secretAccessKey: string }): APIGatewayClient;
  close(): Promise<void>;
}

/** `keyValues`: the installation keeps key values (apigwKeyValues). */
export async function startApigw(kind: TestStore, opts: { keyValues?: boolean } = {}): Promise<ApigwHarness> {
  const store = await kind.open();
  // SigV4 dates come from the SDK's (real) clock: start the manual clock at real time.
  const clock = new ManualClock(Date.now());
  const catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
  const a = await catalog.providers.create(SYSTEM, { name: 'Alpha' });
  const api = await catalog.apis.create(SYSTEM, {
    providerId: a.id,
    name: 'pets',
    upstreamUrl: 'http://127.0.0.1:9/',
    pathPrefix: '/pets-api',
    routes: [
      { method: 'GET', path: '/pets' },
      { method: 'GET', path: '/pets/{id}' },
      { method: 'POST', path: '/pets' },
    ],
  });
  const routes = Object.fromEntries(api.routes.map((r) => [`${r.path}/${r.method}`, r.id]));
  const b = await catalog.providers.create(SYSTEM, { name: 'Beta' });
  const bApi = await catalog.apis.create(SYSTEM, {
    providerId: b.id,
    name: 'beta',
    upstreamUrl: 'http://127.0.0.1:9/',
    pathPrefix: '/beta',
  });
  const bPlan = await catalog.plans.create(SYSTEM, {
    providerId: b.id,
    name: 'beta plan',
    apiIds: [bApi.id],
  });
  const operator = (await catalog.bootstrapOperatorToken()).value!;
  const op: Actor = { kind: 'operator', id: 'test' };
  const t = await catalog.tokens.create(op, { name: 'alpha', scope: 'provider', providerId: a.id });

  const root = new Hono();
  const credentials = createApigwCredentials({
    db: store.db,
    clock,
    secret: 'test-installation-secret-0123456789',
  });
  const providerCreds = await credentials.issue(t.id);
  const secret = 'test-installation-secret-0123456789';
  const products = createProducts({ db: store.db, clock, outbound: testOutbound() });
  root.route(
    '/apigateway',
    createApiGatewayApp({
      catalog,
      store,
      clock,
      log: silentLogger,
      credentials,
      keyValues: opts.keyValues ? createKeyValueVault({ db: store.db, secret }) : null,
      products: planProductLink(products),
    }),
  );
  const server = serve({ fetch: root.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const clients: APIGatewayClient[] = [];
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) => {
    const c = new APIGatewayClient({
      region: 'eu-west-1',
      endpoint: `${url}/apigateway`,
      credentials,
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const bearer = client({ accessKeyId: 'unused', secretAccessKey: 'unused' });
  bearer.middlewareStack.add(bearerMiddleware(operator) as never, {
    step: 'finalizeRequest',
    priority: 'low',
    name: 'tollgateBearer',
  });
  return {
    url,
    store,
    catalog,
    products,
    clock,
    alpha: { providerId: a.id, apiId: api.id, routes },
    beta: { providerId: b.id, apiId: bApi.id, planId: bPlan.id },
    operator,
    provider: { id: t.id, value: t.value },
    providerCreds,
    sigv4: client(providerCreds),
    bearer,
    client,
    async close() {
      for (const c of clients) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}
