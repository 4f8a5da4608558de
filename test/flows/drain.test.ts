/**
 * Graceful drain: `tollgate serve` gets SIGTERM while 16 keep-alive connections keep it
 * busy with slow, streamed responses. Every request must end one of two ways — answered
 * completely, or refused before it reached the upstream — never cut after its head; the
 * process must exit as soon as the last exchange ends (well inside the grace), and the
 * usage it flushed must equal the answers clients actually got. The console drains the
 * same way: a request in flight at SIGTERM is answered whole, with `Connection: close`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { startServe } from '../helpers/process.js';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const CHUNK = 1000;
const CHUNKS = 3;
const GRACE_MS = 30_000;

interface Outcome {
  id: string;
  status: number | null;
  bytes: number;
  closeHeader: boolean;
  /** The head arrived, then the exchange failed: a cut response. */
  cut: boolean;
  error: string | null;
  endedAt: number;
}

/** One GET on a keep-alive agent; resolves with what the client saw, never rejects. */
function call(agent: Agent, base: string, key: string, id: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = {
      id,
      status: null,
      bytes: 0,
      closeHeader: false,
      cut: false,
      error: null,
      endedAt: 0,
    };
    const finish = (error: string | null) => {
      if (o.endedAt) return;
      o.error = error;
      o.cut = error !== null && o.status !== null;
      o.endedAt = Date.now();
      resolve(o);
    };
    const req = request(`${base}/api/x`, { agent, headers: { 'x-api-key': key, 'x-test-id': id } }, (res) => {
      o.status = res.statusCode ?? 0;
      o.closeHeader = res.headers.connection === 'close';
      res.on('data', (c: Buffer) => {
        o.bytes += c.length;
      });
      res.on('end', () => finish(res.complete ? null : 'incomplete'));
      res.on('error', (e) => finish(e.message));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    req.end();
  });
}

describe('SIGTERM under load', () => {
  let up: Upstream;
  const dirs: string[] = [];
  beforeAll(async () => {
    // A slow, streamed answer (~100 ms from head to end), so that many are mid-body at SIGTERM.
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(CHUNK * CHUNKS) });
      let sent = 0;
      const next = () => {
        res.write(Buffer.alloc(CHUNK, 97));
        if (++sent === CHUNKS) res.end();
        else setTimeout(next, 50);
      };
      next();
    });
  });
  afterAll(async () => {
    await up.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const mode of ['batched', 'strict'] as const) {
    it(`${mode}: every request is answered whole or refused unforwarded; usage = answers`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `tollgate-drain-${mode}-`));
      dirs.push(dir);
      const url = `sqlite:${join(dir, 't.db')}`;
      const store = await openStore(url);
      const prv = await seedProvider(store);
      const { apiId } = await seedApi(store, prv, up.url, { pathPrefix: '/api' });
      const plan = await seedPlan(store, prv, [apiId], {});
      const { subscriptionId } = await seedSubscription(store, plan);
      const { value: key } = await seedKey(store, subscriptionId);
      await store.close();

      const tg = await startServe([
        ...['--database-url', url, '--data-dir', dir, '--metering', mode, '--role', 'gateway'],
        ...['--gateway-port', '0', '--gateway-host', '127.0.0.1', '--shutdown-grace-ms', String(GRACE_MS)],
      ]);
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      const outcomes: Outcome[] = [];
      let n = 0;
      let stopped = false;
      let loaded: () => void = () => {};
      const underLoad = new Promise<void>((r) => {
        loaded = r;
      });
      const worker = async () => {
        while (!stopped) {
          const o = await call(agent, tg.gatewayUrl!, key, `${mode}-${n++}`);
          outcomes.push(o);
          if (outcomes.length >= 150) loaded();
          // After the drain, a new connection is refused: this client is done.
          if (o.error === 'ECONNREFUSED') return;
        }
      };
      const workers = Array.from({ length: 16 }, worker);
      // SIGTERM once the load is well under way (not after a fixed sleep).
      await underLoad;
      const completedBeforeTerm = outcomes.length;
      const termAt = Date.now();
      const code = await tg.stop();
      const exitMs = Date.now() - termAt;
      stopped = true;
      await Promise.all(workers);
      agent.destroy();

      expect(code).toBe(0);
      // Exits once drained, not after the grace.
      expect(exitMs).toBeLessThan(GRACE_MS / 2);

      const forwarded = new Set(up.requests.map((r) => r.headers['x-test-id']));
      const answered = outcomes.filter((o) => o.error === null);
      const failed = outcomes.filter((o) => o.error !== null);
      expect(outcomes.filter((o) => o.cut)).toEqual([]);
      for (const o of answered) {
        expect(o.status).toBe(200);
        expect(o.bytes).toBe(CHUNK * CHUNKS);
      }
      // A failed request never reached the upstream: refused before forwarding.
      expect(failed.filter((o) => forwarded.has(o.id))).toEqual([]);
      // Requests in flight at SIGTERM were finished (some were: 16 busy connections).
      expect(outcomes.length - completedBeforeTerm).toBeGreaterThan(0);

      const after = await openStore(url);
      const row = await after.db
        .selectFrom('usage')
        .select((eb) => eb.fn.sum<number>('requests').as('n'))
        .where('subscription_id', '=', subscriptionId)
        .executeTakeFirst();
      await after.close();
      expect(Number(row?.n ?? 0)).toBe(answered.length);
    }, 300_000);
  }

  it('console: a request in flight at SIGTERM is answered whole, with Connection: close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-drain-console-'));
    dirs.push(dir);
    const token = `tga_${'d'.repeat(40)}`;
    const tg = await startServe([
      ...['--database-url', `sqlite:${join(dir, 't.db')}`, '--data-dir', dir, '--role', 'console'],
      ...['--console-port', '0', '--console-host', '127.0.0.1', '--admin-token', token],
      ...['--shutdown-grace-ms', String(GRACE_MS)],
    ]);
    const console = new URL(tg.consoleUrl!);
    const body = JSON.stringify({ name: 'Drain Co' });
    // The request is in flight: the console has its head (it said 100 Continue), the body is held back.
    const req = request(new URL('/admin/v1/providers', console), {
      method: 'POST',
      agent: new Agent({ keepAlive: true }),
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const continued = new Promise<void>((resolve) => req.once('continue', () => resolve()));
    const answer = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ res, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    req.flushHeaders();
    await continued;
    const termAt = Date.now();
    const exited = tg.stop();
    // Draining once the console refuses new connections.
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const s = connect(Number(console.port), console.hostname);
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
    while (!(await refused())) await new Promise((r) => setTimeout(r, 20));
    req.end(body);
    const { res, text } = await answer;
    expect(res.statusCode).toBe(201);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(text)).toMatchObject({ name: 'Drain Co' });
    expect(await exited).toBe(0);
    expect(Date.now() - termAt).toBeLessThan(GRACE_MS / 2);
  }, 120_000);
});
