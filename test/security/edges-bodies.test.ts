/**
 * Body limits come before any signature check on every anonymous endpoint of the console:
 * a 40 MB body — declared, or streamed chunked without a length — is refused while the
 * attacker is still sending, so the server never holds it. Through a whole Tollgate on real
 * sockets (the marketplace endpoint is a loopback port that is never called).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTollgate } from '../helpers/tollgate.js';

const FORTY_MB = 40 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

interface Sent {
  status: number;
  /** Bytes of body written before the answer came. */
  sent: number;
}

/** POSTs a 40 MB body, chunk by chunk (with backpressure), and stops when the answer comes. */
function post(url: string, headers: Record<string, string>, mode: 'declared' | 'chunked'): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, ...(mode === 'declared' ? { 'content-length': String(FORTY_MB) } : {}) },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sent }));
      req.destroy();
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = () => {
      while (!answered && sent < FORTY_MB) {
        sent += CHUNK.length;
        if (!req.write(CHUNK)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.flushHeaders();
    pump();
  });
}

const TOKEN = `tga_bodies_${'b'.repeat(32)}`;

describe('anonymous endpoints refuse huge bodies before reading them (sqlite, whole Tollgate)', () => {
  let url = '';
  let close: () => Promise<void>;

  beforeAll(async () => {
    const started = await startTestTollgate(TOKEN, {
      marketplaceEndpoint: 'http://127.0.0.1:9',
      marketplaceAccessKeyId: 'AKIDEXAMPLE',
      marketplaceSecretAccessKey: 'secret-secret-secret',
      marketplaceNotificationSecret: 'n'.repeat(32),
    });
    close = started.close;
    url = started.tg.consoleUrl!;
  }, 60_000);
  afterAll(async () => {
    await close?.();
  });

  const endpoints: Array<[string, string, Record<string, string>, number]> = [
    [
      'marketplace registration',
      '/marketplace/register',
      { 'content-type': 'application/x-www-form-urlencoded' },
      413,
    ],
    [
      'marketplace notifications',
      '/marketplace/notifications',
      { 'content-type': 'application/json', 'x-tollgate-signature': `t=1,v1=${'0'.repeat(64)}` },
      413,
    ],
    [
      'the AWS marketplace endpoint (SigV4)',
      '/',
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSMPMeteringService.BatchMeterUsage',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws-marketplace/aws4_request',
      },
      400,
    ],
    ['portal sign-up', '/signup', { 'content-type': 'application/x-www-form-urlencoded' }, 413],
    ['portal log-in', '/login', { 'content-type': 'application/x-www-form-urlencoded' }, 413],
  ];

  for (const [name, path, headers, status] of endpoints) {
    for (const mode of ['declared', 'chunked'] as const) {
      it(`${name}: a 40 MB ${mode} body is refused (${status}) before it is sent whole`, async () => {
        const r = await post(`${url}${path}`, headers, mode);
        expect(r.status).toBe(status);
        expect(r.sent).toBeLessThan(FORTY_MB / 2);
      }, 60_000);
    }
  }

  it('small bodies still reach the signature check', async () => {
    const res = await fetch(`${url}/marketplace/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Type: 'Notification' }),
    });
    expect(res.status).toBe(401);
  });
});
