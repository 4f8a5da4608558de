/**
 * The seller's clients for an external marketplace: ResolveCustomer, with a buyer's browser
 * waiting on it, survives a connection the server drops (a kept-alive socket closed as the
 * request went out); the exporter's BatchMeterUsage client makes one attempt and leaves
 * retries to the exporter. The marketplace here is a small server speaking AWS's JSON 1.1
 * protocol whose first connection is reset before any answer.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { afterEach, describe, expect, it } from 'vitest';
import { externalClients } from '../../src/marketplace/external.js';

interface Market {
  url: string;
  /** How many requests reached the server, reset or answered. */
  requests: () => number;
  close: () => Promise<void>;
}

/** Resets the first `resets` connections as soon as a request arrives; answers the rest. */
async function flakyMarket(resets: number): Promise<Market> {
  let seen = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const target = /x-amz-target:\s*(\S+)/i.exec(buffered)?.[1] ?? '';
      buffered = '';
      seen++;
      if (seen <= resets) {
        socket.resetAndDestroy();
        return;
      }
      const body = target.endsWith('ResolveCustomer')
        ? JSON.stringify({
            CustomerIdentifier: 'cust-1',
            CustomerAWSAccountId: '123456789012',
            ProductCode: 'prod-1',
          })
        : JSON.stringify({ Results: [], UnprocessedRecords: [] });
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const config = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret-key-0123456789',
});

describe('clients for an external marketplace', () => {
  let market: Market | undefined;
  afterEach(async () => {
    await market?.close();
    market = undefined;
  });

  it('ResolveCustomer is tried again after the connection is reset', async () => {
    market = await flakyMarket(1);
    const clients = externalClients(config(market.url));
    try {
      const out = await clients.registration.send(new ResolveCustomerCommand({ RegistrationToken: 'tok' }));
      expect(out.CustomerIdentifier).toBe('cust-1');
      expect(market.requests()).toBe(2);
    } finally {
      clients.destroy();
    }
  });

  it("the exporter's BatchMeterUsage makes one attempt and reports the failure", async () => {
    market = await flakyMarket(1);
    const clients = externalClients(config(market.url));
    try {
      const call = clients.metering.send(
        new BatchMeterUsageCommand({
          ProductCode: 'prod-1',
          UsageRecords: [
            { CustomerIdentifier: 'cust-1', Dimension: 'requests', Quantity: 1, Timestamp: new Date() },
          ],
        }),
      );
      await expect(call).rejects.toThrow();
      expect(market.requests()).toBe(1);
    } finally {
      clients.destroy();
    }
  });
});
