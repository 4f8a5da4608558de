/**
 * TLS to an external PostgreSQL, as a buyer points Tollgate at a managed database (RDS):
 * `?sslmode=verify-full&sslrootcert=FILE` in the database URL. A private PostgreSQL cluster
 * is started for this file only (initdb in a temp folder), accepting TLS connections and
 * nothing else, with a server certificate signed by a CA the test makes with openssl.
 *
 * Through the real `tollgate serve`: verified against the CA it starts and serves the admin
 * API. Opening the store (what `serve` does first) refuses a CA that did not sign the server's
 * certificate, a host name the certificate does not name, and a connection without TLS, each
 * with the driver's reason.
 *
 * Skipped with a message outside CI when initdb, pg_ctl or openssl are missing; under
 * CI=true that is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { type ServeProcess, startServe } from '../helpers/process.js';

const IN_CI = process.env.CI === 'true';
const TOKEN = 'tga_tls_test_token_0123456789';

/** Debian keeps the server programs in a versioned folder; elsewhere they are on PATH. */
function pgBin(program: string): string | null {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions)
    if (existsSync(join(root, v, 'bin', program))) return join(root, v, 'bin', program);
  return spawnSync(program, ['--version']).status === 0 ? program : null;
}
const initdb = pgBin('initdb');
const pgCtl = pgBin('pg_ctl');
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const missing =
  !initdb || !pgCtl
    ? 'initdb/pg_ctl (PostgreSQL server) not found'
    : !hasOpenssl
      ? 'openssl not found'
      : null;
if (missing && !IN_CI)
  console.warn(`[tollgate tests] PostgreSQL TLS tests skipped: ${missing} (allowed outside CI)`);

/** PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user. */
const asRoot = process.getuid?.() === 0;
function asPostgres(cmd: string, args: string[]): void {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: 'pipe', timeout: 120_000 });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA (ca.pem) and, when `server` is set, a server certificate for DNS:localhost signed by it. */
function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    dir,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(missing && !IN_CI)('PostgreSQL over TLS (sslmode=verify-full)', () => {
  let dir: string;
  let data: string;
  let port: number;
  const running: ServeProcess[] = [];

  const url = (host: string, query: string) => `postgres://postgres@${host}:${port}/postgres?${query}`;
  const serve = async (databaseUrl: string) => {
    const p = await startServe([
      '--database-url',
      databaseUrl,
      '--data-dir',
      join(dir, `serve-${running.length}`),
      '--admin-token',
      TOKEN,
      '--gateway-port',
      '0',
      '--console-port',
      '0',
      '--gateway-host',
      '127.0.0.1',
      '--console-host',
      '127.0.0.1',
    ]);
    running.push(p);
    return p;
  };
  /** Opening the store refused: the driver's reason (what `tollgate serve` prints after "cannot start:"). */
  const refused = async (databaseUrl: string): Promise<string> => {
    const err = await openStore(databaseUrl).then(
      async (store) => {
        await store.close();
        return null;
      },
      (e: Error) => e.message,
    );
    expect(err, 'the store opened although the database connection should be refused').not.toBeNull();
    return err!;
  };

  beforeAll(async () => {
    if (missing) throw new Error(`PostgreSQL TLS tests are required under CI: ${missing}`);
    dir = mkdtempSync(join(tmpdir(), 'tollgate-pgtls-'));
    data = join(dir, 'data');
    port = await freePort();
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'server.key',
        '-out',
        'server.csr',
        '-subj',
        '/CN=localhost',
      ],
      dir,
    );
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.crt',
        '-days',
        '2',
        '-extfile',
        'san.ext',
      ],
      dir,
    );
    mkdirSync(data, { mode: 0o700 });
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      for (const f of [dir, data, join(dir, 'server.key'), join(dir, 'server.crt')]) chownSync(f, uid, gid);
    }
    asPostgres(initdb!, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      [
        `port = ${port}`,
        "listen_addresses = '127.0.0.1,::1'",
        `unix_socket_directories = '${dir}'`,
        'ssl = on',
        `ssl_cert_file = '${join(dir, 'server.crt')}'`,
        `ssl_key_file = '${join(dir, 'server.key')}'`,
        'fsync = off',
      ].join('\n'),
    );
    // TLS or nothing: no `host` line, so a plain TCP connection finds no entry.
    writeFileSync(
      join(data, 'pg_hba.conf'),
      'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n',
    );
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      for (const f of ['postgresql.auto.conf', 'pg_hba.conf']) chownSync(join(data, f), uid, gid);
    }
    asPostgres(pgCtl!, ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
  }, 180_000);

  afterAll(async () => {
    for (const p of running) await p.kill();
    if (data && existsSync(join(data, 'postmaster.pid')))
      asPostgres(pgCtl!, ['-D', data, '-m', 'immediate', 'stop']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('starts against the CA that signed the server certificate and serves the admin API', async () => {
    const tg = await serve(url('localhost', `sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`));
    // A write and a read through the store: migrations ran and the pool works over TLS.
    const created = await fetch(`${tg.consoleUrl}/admin/v1/providers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Over TLS' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${tg.consoleUrl}/admin/v1/providers/${id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await read.json()) as { name: string }).name).toBe('Over TLS');
    expect(await tg.stop()).toBe(0);
  }, 180_000);

  it('refuses a server whose certificate another CA signed', async () => {
    const why = await refused(
      url('localhost', `sslmode=verify-full&sslrootcert=${join(dir, 'other-ca.pem')}`),
    );
    expect(why).toMatch(/certificate/);
  }, 180_000);

  it('refuses a host name the certificate does not name (verify-full checks it)', async () => {
    const why = await refused(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`));
    expect(why).toMatch(/altnames|does not match/i);
  }, 180_000);

  it('without TLS the database itself turns the connection away', async () => {
    const why = await refused(url('localhost', 'sslmode=disable'));
    expect(why).toMatch(/no encryption/);
  }, 180_000);
});
