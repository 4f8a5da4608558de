/**
 * Graceful drain of an HTTP server (the gateway, the console, the metrics listener): stop
 * accepting, close idle keep-alive sockets, and answer every further request with
 * `Connection: close`, so each busy connection ends after its current exchange. Idle
 * sockets are swept every 20 ms (a response that finished with keep-alive leaves its socket
 * idle). Resolves as soon as the last connection is gone; after `graceMs` whatever is still
 * open is cut.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const inFlight = new WeakMap<Server, Set<ServerResponse>>();

/**
 * For a server whose handler cannot see the drain itself (the console, the metrics
 * listener): keeps its responses in flight, so the drain can end their connections too.
 * The gateway does this on its own path (call.ts) and needs no tracking.
 */
export function trackResponses(server: Server): void {
  const live = new Set<ServerResponse>();
  inFlight.set(server, live);
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    live.add(res);
    res.once('close', () => live.delete(res));
  });
}

export async function drainServer(server: Server, graceMs: number): Promise<void> {
  for (const res of inFlight.get(server) ?? []) if (!res.headersSent) res.shouldKeepAlive = false;
  // Prepended: runs before the server's own handler writes anything, so the answer to every
  // request from now on carries Connection: close.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
  });
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 20);
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(cut);
}
