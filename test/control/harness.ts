/** A real admin API on a real socket (port 0) over a real store, for the control tests. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Catalog, createCatalog } from '../../src/catalog/index.js';
import { createControlApp } from '../../src/control/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import type { TestStore } from '../helpers/stores.js';

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
  body: any;
  text: string;
}

export interface Harness {
  url: string;
  store: Store;
  catalog: Catalog;
  clock: ManualClock;
  operator: string;
  call(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      raw?: string | Uint8Array;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export async function startHarness(kind: TestStore): Promise<Harness> {
  const store = await kind.open();
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 12, 0, 0));
  const catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
  const app = createControlApp({ catalog, log: silentLogger, clock });
  const boot = await catalog.bootstrapOperatorToken();
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const operator = boot.value!;
  return {
    url,
    store,
    catalog,
    clock,
    operator,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? operator : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | Uint8Array | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      clock.advance(1);
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
