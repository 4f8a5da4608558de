/**
 * The `tollgate` command. Flags mirror config keys in kebab case (`--gateway-port 8080` ↔
 * `gatewayPort` ↔ `TOLLGATE_GATEWAY_PORT`); `tollgate help` lists the commands.
 */
import { parseArgs } from 'node:util';
import { ConfigError, configSchema, envName, kebab, loadConfig } from '../config/index.js';
import { InvalidFileError } from './apply/load.js';
import { AdminApiError, clientFromFlags, UsageError } from './client.js';

const HELP = `tollgate — sell your API

  tollgate serve [--demo] [--role all|gateway|console] [--database-url URL] [--redis-url URL]
                 [--gateway-port 8080] [--console-port 8081] [--metering off|batched|strict]
                 [--licence FILE] [--workers N|auto]
  tollgate migrate [--database-url URL]
  tollgate token create --operator [--name NAME] [--database-url URL]
                 mints a new operator admin token in the server's own store (a lost one
                 stays valid until revoked: list and revoke it through /admin/v1/tokens)
  tollgate apis capture|nouns [--port N] [--host 127.0.0.1] [--outbound-allow HOST,CIDR,…] [--deadline MS]
                 a sample upstream API; listens on loopback unless --host says otherwise
  tollgate billing run [--until 2026-05-01T00:00:00Z] [--dry-run] [--database-url URL]

Against a running Tollgate (--url URL --token TOKEN, or TOLLGATE_URL / TOLLGATE_TOKEN):
  tollgate diff -f tollgate.yaml [--prune] [--exit-code] [--json]
  tollgate apply -f tollgate.yaml [--prune] [--json]
  tollgate export [--provider NAME] [-o FILE] [--json]
  tollgate keys list [--subscription ID] | create --subscription ID [--name N]
                | roll KEY_ID [--grace SECONDS] | disable KEY_ID | enable KEY_ID
  tollgate usage --from DATE [--to DATE] [--subscription ID] [--granularity hour|day|month] [--format csv]
  tollgate usage import FILE.csv   usage from outside the gateway (columns: id, subscriptionId or keyId,
                 apiId, dimension, units, timestamp); a rerun counts each id once
  tollgate invoices list [--subscription ID] [--status S] | show INV_ID | finalize INV_ID
  tollgate token create [--scope operator|provider] [--provider PROVIDER_ID] [--name N]
  tollgate schema          the JSON Schema of tollgate.yaml (for editors)
  Add --json for the server's JSON. Exit codes: 0 ok, 1 failure, 2 usage, 3 diff found (--exit-code).

  tollgate help

Every flag can also be set as an environment variable: --gateway-port ↔ TOLLGATE_GATEWAY_PORT.`;

const FLAG_KEYS = Object.keys(configSchema.shape);

function parseFlags(args: string[]): {
  flags: Record<string, unknown>;
  positionals: string[];
  operator: boolean;
  name: string | undefined;
  host: string | undefined;
} {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const key of FLAG_KEYS)
    options[kebab(key)] = { type: key === 'demo' || key === 'trustProxy' ? 'boolean' : 'string' };
  options.licence = { type: 'string' };
  options.port = { type: 'string' };
  options.deadline = { type: 'string' };
  options.file = { type: 'string' };
  options.f = { type: 'string' };
  options.operator = { type: 'boolean' };
  options.name = { type: 'string' };
  options.host = { type: 'string' };
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  const flags: Record<string, unknown> = {};
  for (const key of FLAG_KEYS) {
    const v = values[kebab(key)];
    if (v !== undefined) flags[key] = v;
  }
  if (values.licence !== undefined) flags.licenceFile = values.licence;
  return {
    flags,
    positionals: [
      ...positionals,
      ...(values.port ? [`port=${values.port}`] : []),
      ...(values.deadline ? [`deadline=${values.deadline}`] : []),
    ],
    operator: values.operator === true,
    name: typeof values.name === 'string' ? values.name : undefined,
    host: typeof values.host === 'string' ? values.host : undefined,
  };
}

export async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest);
      case 'migrate': {
        const { flags } = parseFlags(rest);
        const config = loadConfig(flags);
        const { openStore } = await import('../store/index.js');
        const { describeConflicts, namespaceConflicts } = await import('../catalog/index.js');
        const { createWebhooks } = await import('../webhooks/index.js');
        const { installationSecret } = await import('../main/secret.js');
        const { silentLogger, systemClock } = await import('../shared/index.js');
        const store = await openStore(config.databaseUrl);
        // Webhook signing secrets from before migration 014 are sealed (a start would do it too).
        const sealed = await createWebhooks({
          store,
          clock: systemClock,
          log: silentLogger,
          secretKey: installationSecret(config.secret, config.dataDir),
        }).sealStoredSecrets();
        // Rows written before the namespace rule are reported, never rewritten.
        const conflicts = describeConflicts(await namespaceConflicts(store.db));
        await store.close();
        console.log(`migrated ${config.databaseUrl}`);
        if (sealed) console.log(`sealed ${sealed} webhook signing secret${sealed === 1 ? '' : 's'}`);
        for (const line of conflicts) console.error(`warning: ${line}`);
        if (conflicts.length)
          console.error('warning: see GET /admin/v1/namespaces/conflicts (docs/security.md)');
        return;
      }
      case 'apis':
        return await apisCommand(rest);
      case 'billing':
        return await (await import('./billing.js')).billingCommand(rest);
      case 'schema': {
        const { fileJsonSchema } = await import('./apply/schema.js');
        console.log(JSON.stringify(fileJsonSchema(), null, 2));
        return;
      }
      case 'diff':
      case 'apply':
      case 'export':
      case 'keys':
      case 'usage':
      case 'invoices':
        return await clientCommand(command, rest);
      case 'token':
        // --operator mints from the store itself (a lost token); otherwise through the admin API.
        return rest.includes('--operator') ? await tokenCommand(rest) : await clientCommand(command, rest);
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return;
      default:
        console.error(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
        process.exitCode = 2;
    }
  } catch (err) {
    const usage =
      err instanceof ConfigError ||
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // A clear sentence for the operator; the stack only when asked for.
    console.error(`tollgate: ${(err as Error).message}`);
    if (err instanceof AdminApiError) for (const i of err.issues) console.error(`  ${i.field}: ${i.message}`);
    if (process.env.TOLLGATE_LOG_LEVEL === 'debug') console.error(err);
    process.exitCode = usage ? 2 : 1;
    if (command === 'serve') endFailedStart();
  }
}

/**
 * A failed start has closed what it opened (src/main/opened.ts), so the process ends by
 * itself. A handle still open after 10 s is a bug: name it and exit anyway. A worker of
 * `serve --workers` exits at once (its IPC channel to the primary keeps it alive otherwise).
 */
function endFailedStart(): void {
  if (process.connected) process.exit(process.exitCode);
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    console.error(`tollgate: still open after the failed start: ${open.join(', ')}; exiting anyway`);
    process.exit(process.exitCode);
  }, 10_000).unref();
}

async function serveCommand(args: string[]): Promise<void> {
  const { flags } = parseFlags(args);
  let config = loadConfig(flags);
  // The demo prints an admin token and passwords: it listens on loopback unless told otherwise.
  if (config.demo) {
    const local: Record<string, unknown> = {};
    for (const key of ['gatewayHost', 'consoleHost'] as const)
      if (flags[key] === undefined && !process.env[envName(key)]) local[key] = '127.0.0.1';
    config = loadConfig({ ...flags, ...local });
  }
  // Signals are caught from the first moment: a SIGTERM during start-up waits for the start
  // to finish, then shuts down cleanly (drain, flush) instead of dying half-way.
  const closers: Array<() => Promise<void>> = [];
  const started = onShutdown(async () => {
    for (const close of closers) await close();
  });
  // Loaded here, not at the top: the client commands must start fast without the server.
  const { startTollgate } = await import('../main/index.js');
  const cluster = await import('../main/cluster.js');
  const worker = cluster.workerIndex();
  if (worker !== null || cluster.workerCount(config) > 1) {
    const { createLogger } = await import('../shared/index.js');
    if (worker !== null) {
      const w = await cluster.startWorker(config, worker);
      closers.push(() => w.close());
    } else {
      const c = await cluster
        .startCluster(config, createLogger({ level: config.logLevel }))
        .catch((err: Error) => Promise.reject(new Error(`cannot start: ${err.message}`)));
      closers.push(() => c.close());
      if (c.bootstrapToken)
        console.log(`\nOperator admin token (shown once, keep it safe):\n  ${c.bootstrapToken}\n`);
    }
    started();
    return;
  }
  let t: Awaited<ReturnType<typeof startTollgate>>;
  // The demo is a newcomer's first start: say what the seconds before the first answer are for.
  if (config.demo) console.log(`tollgate: migrating ${config.databaseUrl} and starting the servers…`);
  try {
    t = await startTollgate(config);
  } catch (err) {
    throw new Error(`cannot start: ${(err as Error).message}`);
  }
  closers.push(() => t.close());
  if (t.bootstrapToken) {
    console.log(`\nOperator admin token (shown once, keep it safe):\n  ${t.bootstrapToken}\n`);
  }
  if (config.demo) {
    console.log(
      'tollgate: starting the sample APIs (screen capture launches Chromium) and the demo records…',
    );
    const { startDemo } = await import('../main/demo.js');
    // A demo that cannot start stops the Tollgate it was given.
    const demo = await startDemo(t).catch(async (err: unknown) => {
      await t.close();
      throw new Error(`cannot start the demo: ${(err as Error).message}`);
    });
    closers.push(() => demo.close());
    console.log(demo.instructions);
  }
  started();
}

/** `tollgate token create --operator`: a new operator token, straight into the store. */
async function tokenCommand(args: string[]): Promise<void> {
  const { flags, positionals, operator, name } = parseFlags(args);
  if (positionals[0] !== 'create' || !operator) {
    console.error('usage: tollgate token create --operator [--name NAME] [--database-url URL]');
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(flags);
  const [{ openStore }, { createCatalog, SYSTEM }, { createLogger, systemClock }] = await Promise.all([
    import('../store/index.js'),
    import('../catalog/index.js'),
    import('../shared/index.js'),
  ]);
  const store = await openStore(config.databaseUrl);
  try {
    const catalog = createCatalog({ store, clock: systemClock, log: createLogger({ level: 'warn' }) });
    const token = await catalog.tokens.create(SYSTEM, {
      name: name ?? `operator (tollgate token create, ${new Date().toISOString().slice(0, 10)})`,
      scope: 'operator',
    });
    console.log(`Operator admin token ${token.id} (shown once, keep it safe):\n  ${token.value}`);
  } finally {
    await store.close();
  }
}

const CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  file: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
  prune: { type: 'boolean' },
  json: { type: 'boolean' },
  'exit-code': { type: 'boolean' },
  provider: { type: 'string' },
  subscription: { type: 'string' },
  name: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  granularity: { type: 'string' },
  format: { type: 'string' },
  status: { type: 'string' },
  grace: { type: 'string' },
  scope: { type: 'string' },
} as const;

/** Commands that talk to a running Tollgate through its admin API. */
async function clientCommand(command: string, args: string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({
    args,
    options: CLIENT_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const client = clientFromFlags(v);
  const { diffCommand, applyCommand, exportCommand } = await import('./commands/config.js');
  const ops = await import('./commands/ops.js');
  const flags = { ...v, exitCode: v['exit-code'] };
  const [sub, ...rest] = positionals;
  try {
    switch (command) {
      case 'diff':
        process.exitCode = await diffCommand(client, flags);
        return;
      case 'apply':
        process.exitCode = await applyCommand(client, flags);
        return;
      case 'export':
        process.exitCode = await exportCommand(client, flags);
        return;
      case 'keys':
        return await ops.keysCommand(client, sub, rest, flags);
      case 'usage':
        if (sub === 'import') {
          const { usageImportCommand } = await import('./commands/usage-import.js');
          process.exitCode = await usageImportCommand(client, rest[0], flags.json === true);
          return;
        }
        return await ops.usageCommand(client, flags);
      case 'invoices':
        return await ops.invoicesCommand(client, sub, rest, flags);
      case 'token':
        if (sub !== 'create')
          throw new UsageError('usage: tollgate token create [--scope …] [--provider ID]');
        return await ops.tokenCreateCommand(client, flags);
    }
  } catch (err) {
    // A bad file is the caller's to fix, like a bad flag: exit 2 with every fault's position.
    if (err instanceof InvalidFileError) throw new UsageError(err.message);
    throw err;
  }
}

async function apisCommand(args: string[]): Promise<void> {
  const { flags, positionals, host = '127.0.0.1' } = parseFlags(args);
  const which = positionals[0];
  // Pages the capture API may render on private addresses: the same setting as `serve`'s.
  const outboundAllow = loadConfig({ outboundAllow: flags.outboundAllow ?? [] }).outboundAllow;
  const port = Number(positionals.find((p) => p.startsWith('port='))?.slice(5) ?? 0);
  const deadline = positionals.find((p) => p.startsWith('deadline='))?.slice(9);
  const deadlineMs = deadline === undefined ? undefined : Number(deadline);
  if (deadlineMs !== undefined && !(Number.isInteger(deadlineMs) && deadlineMs >= 1_000))
    throw new UsageError('--deadline must be a whole number of milliseconds, at least 1000');
  const apis = await import('../apis/index.js');
  const started =
    which === 'capture'
      ? await apis.startCaptureApi({ port, host, outboundAllow, deadlineMs })
      : which === 'nouns'
        ? await apis.startNounsApi({ port, host })
        : null;
  if (!started) {
    console.error('usage: tollgate apis capture|nouns [--port N] [--host 127.0.0.1] [--outbound-allow …]');
    process.exitCode = 2;
    return;
  }
  console.log(`${which} API listening on ${started.url}`);
  onShutdown(() => started.close())();
}

/** Installs SIGTERM/SIGINT handlers now; returns `started()`, to call once there is something to close. */
function onShutdown(close: () => Promise<void>): () => void {
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    console.error(`${signal}: draining and flushing…`);
    isReady.then(close).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return ready;
}

// Run directly (`node --import tsx src/cli/index.ts serve`) as well as through bin/tollgate.js.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
