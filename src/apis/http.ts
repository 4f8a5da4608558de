/**
 * Plain node:http plumbing shared by the sample APIs: capped body reading, JSON and
 * RFC 9457 problem responses, and start/stop helpers. The sample APIs use node:http rather
 * than a framework because each has three or four routes and the interesting part is
 * elsewhere (Chromium, NLP); plain node:http keeps the body cap, abort-on-disconnect and
 * streaming explicit, and the code reads as a template for providers with no framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A refusal rendered as `application/problem+json`; `field` names the bad input. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badField = (field: string, message: string): ApiError =>
  new ApiError(400, 'VALIDATION_FAILED', `${field}: ${message}`, field);

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`, 'body');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`, 'body');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Media type of the request without parameters, lower-case ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'BAD_JSON', 'the body is not valid JSON', 'body');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  type = 'application/json',
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), ...headers });
  res.end(body);
}

export function sendProblem(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const problem: Record<string, unknown> = {
    type: 'about:blank',
    title: err.code,
    status: err.status,
    code: err.code,
    detail: err.message,
  };
  if (err.field) problem.errors = [{ field: err.field, message: err.message }];
  // A refusal is never billed: the gateway reads x-tollgate-units.
  sendJson(res, err.status, problem, { 'x-tollgate-units': '0', ...err.headers }, 'application/problem+json');
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** Route table: `METHOD /path` → handler. Unknown path 404, known path + wrong method 405. */
export function makeServer(routes: Record<string, Handler>, onFault: (e: unknown) => void): Server {
  const paths = new Set(Object.keys(routes).map((k) => k.split(' ')[1]));
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = routes[`${req.method} ${url.pathname}`];
    const run = async (): Promise<void> => {
      if (!handler) {
        if (paths.has(url.pathname))
          throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
        throw new ApiError(404, 'NOT_FOUND', `no route ${url.pathname}`);
      }
      await handler(req, res, url);
    };
    run().catch((e: unknown) => {
      if (e instanceof ApiError) return sendProblem(res, e);
      onFault(e);
      sendProblem(res, new ApiError(500, 'INTERNAL', 'internal error'));
    });
  });
}

export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${h}:${addr.port}`;
}

export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
