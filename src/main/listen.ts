/**
 * Opening a port, with an error an operator can act on: which listener, which address, and
 * the setting that chose it (`consolePort` ↔ `--console-port` ↔ `TOLLGATE_CONSOLE_PORT`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { envName, kebab } from '../config/index.js';

/** The listener's name in messages and the config setting that holds its port. */
export interface PortSetting {
  what: string;
  setting: 'gatewayPort' | 'consolePort' | 'metricsPort';
}

/** A Hono app on `host:port`; rejects (see portError) when the port cannot be opened. */
export async function listenApp(app: Hono, port: number, host: string, names: PortSetting): Promise<Server> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await listenOn(server, port, host, names);
  return server;
}

/** `server.listen`, resolving with the bound port, rejecting with portError. */
export async function listenOn(
  server: Server,
  port: number,
  host: string,
  names: PortSetting,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(portError(err, port, host, names));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** `console port 127.0.0.1:8081 is already in use (consolePort, --console-port, TOLLGATE_CONSOLE_PORT)`. */
export function portError(err: unknown, port: number, host: string, names: PortSetting): Error {
  const code = (err as { code?: string }).code;
  const where = `${names.what} port ${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? 'is already in use'
      : code === 'EACCES'
        ? 'may not be opened by this user'
        : code === 'EADDRNOTAVAIL'
          ? 'names an address this machine does not have'
          : `cannot be opened: ${(err as Error).message}`;
  const setting = `${names.setting}, --${kebab(names.setting)}, ${envName(names.setting)}`;
  return Object.assign(new Error(`${where} ${why} (${setting})`), { code, cause: err });
}

/** A URL for a bound listener: wildcard addresses are reached on loopback. */
export function listenerUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
