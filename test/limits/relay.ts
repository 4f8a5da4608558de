/** Loopback TCP helpers for outage tests: a port nobody listens on, a relay to Redis that can be cut. */
import net from 'node:net';
import { REDIS_URL } from '../helpers/stores.js';

export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A loopback relay to Redis that can be cut and restored on the same port. */
export class Relay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly links: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  port = 0;
  async start(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      this.links.push({ client, upstream });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  /** Redis runs what it receives but its replies are held back (a server that hangs after committing). */
  holdReplies(): void {
    for (const { client, upstream } of this.links) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  releaseReplies(): void {
    for (const { client, upstream } of this.links) upstream.pipe(client);
  }

  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
