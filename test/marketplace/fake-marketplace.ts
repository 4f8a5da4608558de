/**
 * A loopback stand-in for AWS Marketplace's BatchMeterUsage (awsJson1_1) that misbehaves
 * on demand: throttles the next N calls, drops records into UnprocessedRecords the first
 * time it sees them, and can be taken down and brought back on the same port. It keeps
 * AWS's contract otherwise: ≤25 records, first-write-wins per customer+dimension+hour.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMarketplace {
  url: string;
  accepted: Map<string, number>;
  calls: number;
  duplicates: number;
  maxBatch: number;
  throttleNext: number;
  /** Drop a record into UnprocessedRecords the first time it is seen. */
  dropFirstSight: boolean;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function fakeMarketplace(): Promise<FakeMarketplace> {
  const seen = new Set<string>();
  let server: Server | undefined;
  let port = 0;
  const fake: FakeMarketplace = {
    url: '',
    accepted: new Map(),
    calls: 0,
    duplicates: 0,
    maxBatch: 0,
    throttleNext: 0,
    dropFirstSight: false,
    down: () => stop(),
    up: () => start(),
    close: () => stop(),
  };
  const reply = (res: import('node:http').ServerResponse, status: number, body: unknown, type?: string) => {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      ...(type ? { 'x-amzn-errortype': type } : {}),
    });
    res.end(JSON.stringify(body));
  };
  async function start(): Promise<void> {
    if (server) return;
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => {
        raw += c;
      });
      req.on('end', () => {
        fake.calls++;
        if (req.headers['x-amz-target'] !== 'AWSMPMeteringService.BatchMeterUsage') {
          return reply(
            res,
            400,
            { __type: 'UnknownOperationException', message: 'no' },
            'UnknownOperationException',
          );
        }
        if (fake.throttleNext > 0) {
          fake.throttleNext--;
          return reply(
            res,
            400,
            { __type: 'ThrottlingException', message: 'Rate exceeded' },
            'ThrottlingException',
          );
        }
        const body = JSON.parse(raw) as {
          UsageRecords: {
            CustomerIdentifier?: string;
            Dimension: string;
            Timestamp: number;
            Quantity?: number;
          }[];
        };
        fake.maxBatch = Math.max(fake.maxBatch, body.UsageRecords.length);
        if (body.UsageRecords.length > 25) {
          return reply(
            res,
            400,
            { __type: 'ValidationException', message: 'too many' },
            'ValidationException',
          );
        }
        const Results = [];
        const UnprocessedRecords = [];
        for (const r of body.UsageRecords) {
          const k = `${r.CustomerIdentifier}|${r.Dimension}|${r.Timestamp * 1000}`;
          if (fake.dropFirstSight && !seen.has(k)) {
            seen.add(k);
            UnprocessedRecords.push(r);
            continue;
          }
          const q = r.Quantity ?? 0;
          const prev = fake.accepted.get(k);
          if (prev !== undefined && prev !== q) {
            fake.duplicates++;
            Results.push({ UsageRecord: r, Status: 'DuplicateRecord' });
            continue;
          }
          fake.accepted.set(k, q);
          Results.push({ UsageRecord: r, Status: 'Success', MeteringRecordId: `m-${k}` });
        }
        reply(res, 200, { Results, UnprocessedRecords });
      });
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    fake.url = `http://127.0.0.1:${port}`;
  }
  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }
  await start();
  return fake;
}
