/**
 * The capture API cannot be wedged: a page whose script never stops answers 504 by the
 * server's deadline, its renderer process is gone afterwards (read from /proc), the slot
 * comes back, and a browser that stops answering altogether is replaced. Main-document
 * redirects to anything but http(s) are refused with a 4xx and a code, never shot.
 *
 * Real Chromium, a real loopback site allow-listed by IP. One capture API for the file:
 * pool of 1, so a slot that never came back would show at once as 504/503 on the next call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startCaptureApi } from '../../src/apis/index.js';
import { type Site, startSite } from './fixture.js';
import { readJson } from './json.js';
import { alive, browsers, cpuOver, eventually, renderers } from './procs.js';

// Short enough for a test, long enough for an ordinary capture on a loaded two-core machine.
const DEADLINE_MS = 12_000;
const GRACE_MS = 2_000;
// Writing the answer and the scheduling of this process (server and client share it, on a
// loaded machine); the deadline itself is the server's.
const SLACK_MS = 3_000;
// Teardown: context close, then at worst a browser close and a kill, each bounded by the grace.
const TEARDOWN_MS = 4 * GRACE_MS + 3_000;

let api: RunningApi;
let site: Site;

beforeAll(async () => {
  site = await startSite();
  api = await startCaptureApi({
    outboundAllow: ['127.0.0.1'],
    poolSize: 1,
    queueLimit: 2,
    deadlineMs: DEADLINE_MS,
    graceMs: GRACE_MS,
  });
  // Warm up: a cold browser's first page is slow on a loaded machine, and is not under test.
  await capture('/block').then((r) => r.arrayBuffer());
});

afterAll(async () => {
  await api?.close();
  await site?.close();
});

const capture = (path: string): Promise<Response> =>
  fetch(
    `${api.url}/capture?${new URLSearchParams({ url: `${site.origin}${path}`, width: '300', height: '200' })}`,
  );

async function timed(path: string): Promise<{ res: Response; ms: number }> {
  const started = Date.now();
  const res = await capture(path);
  await res.arrayBuffer().catch(() => undefined);
  return { res, ms: Date.now() - started };
}

async function expectTimeout(path: string): Promise<void> {
  const { res, ms } = await timed(path);
  expect(res.status).toBe(504);
  expect(res.headers.get('x-tollgate-units')).toBe('0');
  expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
}

/** The slot comes back: bounded teardown, whatever the page did. */
async function expectSlotFreed(): Promise<void> {
  const end = Date.now() + TEARDOWN_MS;
  let active = -1;
  while (Date.now() < end) {
    active = (await readJson(await fetch(`${api.url}/health`))).pool.active;
    if (active === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(active, 'captures still holding a slot').toBe(0);
}

async function expectCaptured(path = '/block'): Promise<void> {
  const res = await capture(path);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
}

/** The renderer using the most CPU while `pending` runs: the one spinning in `while(true){}`. */
async function spinningRenderer(pending: Promise<unknown>): Promise<number> {
  let done = false;
  void pending.finally(() => {
    done = true;
  });
  while (!done) {
    const used = await cpuOver(renderers, 1_000);
    const [pid, ms] = [...used].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
    // An idle renderer uses next to nothing; a spinning one all the CPU it is given (on a
    // loaded two-core machine that may be a tenth of a core).
    if (ms >= 50) return pid;
  }
  throw new Error('no renderer was seen spinning before the capture answered');
}

// Each test waits out one or two deadlines and their teardowns.
describe('capture: a page that never stops', { timeout: 120_000 }, () => {
  it('answers 504 by the deadline, ends the spinning renderer, and the next capture works', async () => {
    const started = Date.now();
    const pending = capture('/spin');
    const spinner = await spinningRenderer(pending);
    const res = await pending;
    const ms = Date.now() - started;
    expect(res.status).toBe(504);
    expect((await readJson(res)).code).toBe('CAPTURE_TIMEOUT');
    expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);

    expect(await eventually(() => !alive(spinner), TEARDOWN_MS)).toBe(true);
    await expectSlotFreed();
    await expectCaptured();
    // Nothing left burning: every renderer is idle once the captures are over.
    const used = await cpuOver(renderers, 1_500);
    for (const [pid, cpu] of used)
      expect(cpu, `renderer ${pid} used ${cpu} ms of CPU in 1.5 s`).toBeLessThan(300);
  });

  it('two wedged captures in a row leave the pool serving, not 503 BUSY', async () => {
    await expectTimeout('/spin');
    await expectTimeout('/spin-after-load');
    await expectSlotFreed();
    await expectCaptured();
    expect(renderers().length).toBeGreaterThan(0);
    const used = await cpuOver(renderers, 1_500);
    for (const [pid, cpu] of used)
      expect(cpu, `renderer ${pid} used ${cpu} ms of CPU in 1.5 s`).toBeLessThan(300);
  });

  it('replaces a browser that stops answering altogether', async () => {
    await expectSlotFreed();
    const [browser, ...others] = browsers();
    expect(browser, 'the capture API runs one Chromium under this process').toBeDefined();
    expect(others).toEqual([]);
    process.kill(browser!.pid, 'SIGSTOP'); // a browser that never answers again
    try {
      await expectTimeout('/block');
      expect(await eventually(() => !alive(browser!.pid), TEARDOWN_MS)).toBe(true);
      await expectSlotFreed();
    } finally {
      if (alive(browser!.pid)) process.kill(browser!.pid, 'SIGCONT');
    }
    await expectCaptured();
    expect(browsers().map((b) => b.pid)).not.toContain(browser!.pid);
    const health = await readJson(await fetch(`${api.url}/health`));
    expect(health).toMatchObject({ status: 'ok', browser: true });
  });
});

describe('capture: only http(s) in the main frame', { timeout: 60_000 }, () => {
  it.each([
    'chrome://version',
    'chrome://inspect',
    'javascript:document.body.innerHTML="x"',
    'data:text/html,<h1>hi</h1>',
    'file:///etc/passwd',
    'about:blank',
  ])('refuses a main-document redirect to %s with 403 URL_FORBIDDEN', async (to) => {
    const res = await capture(`/redirect?to=${encodeURIComponent(to)}`);
    const problem = await readJson(res);
    expect(res.status, JSON.stringify(problem)).toBe(403);
    expect(problem.code).toBe('URL_FORBIDDEN');
    expect(problem.errors[0].field).toBe('url');
    expect(problem.detail).toContain(`scheme ${new URL(to).protocol} is not allowed`);
    expect(res.headers.get('x-tollgate-units')).toBe('0');
  });
});
