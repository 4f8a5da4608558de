/**
 * The `tollgate` command. Flags mirror config keys in kebab case (`--gateway-port 8080` ↔
 * `gatewayPort` ↔ `TOLLGATE_GATEWAY_PORT`); `tollgate help` lists the commands.
 */
import { parseArgs } from 'node:util';
import { createCatalog, SYSTEM } from '../catalog/index.js';
import { ConfigError, configSchema, envName, kebab, loadConfig } from '../config/index.js';
import { startTollgate } from '../main/index.js';
import { createLogger, systemClock } from '../shared/index.js';
import { openStore } from '../store/index.js';
import { BILLING_HELP } from './billing.js';

const HELP = `tollgate — sell your API

  tollgate serve [--demo] [--role all|gateway|console] [--database-url URL] [--redis-url URL]
                 [--gateway-port 8080] [--console-port 8081] [--metering off|batched|strict]
                 [--licence FILE]
  tollgate migrate [--database-url URL]
  tollgate token create --operator [--name NAME] [--database-url URL]
                 mints a new operator admin token in the server's own store (a lost one
                 stays valid until revoked: list and revoke it through /admin/v1/tokens)
  tollgate apis capture|nouns [--port N] [--allow-hosts a,b]
${BILLING_HELP}
  tollgate help

Every flag can also be set as an environment variable: --gateway-port ↔ TOLLGATE_GATEWAY_PORT.`;

const FLAG_KEYS = Object.keys(configSchema.shape);

function parseFlags(args: string[]): {
  flags: Record<string, unknown>;
  positionals: string[];
  operator: boolean;
  name: string | undefined;
} {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const key of FLAG_KEYS)
    options[kebab(key)] = { type: key === 'demo' || key === 'trustProxy' ? 'boolean' : 'string' };
  options.licence = { type: 'string' };
  options.port = { type: 'string' };
  options['allow-hosts'] = { type: 'string' };
  options.file = { type: 'string' };
  options.f = { type: 'string' };
  options.operator = { type: 'boolean' };
  options.name = { type: 'string' };
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  const flags: Record<string, unknown> = {};
  for (const key of FLAG_KEYS) {
    const v = values[kebab(key)];
    if (v !== undefined) flags[key] = v;
  }
  if (values.licence !== undefined) flags.licenceFile = values.licence;
  return {
    flags,
    positionals: [...positionals, ...(values.port ? [`port=${values.port}`] : [])],
    operator: values.operator === true,
    name: typeof values.name === 'string' ? values.name : undefined,
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
        const store = await openStore(config.databaseUrl);
        await store.close();
        console.log(`migrated ${config.databaseUrl}`);
        return;
      }
      case 'apis':
        return await apisCommand(rest);
      case 'billing':
        return await (await import('./billing.js')).billingCommand(rest);
      case 'token':
        return await tokenCommand(rest);
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
    const usage = err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // A clear sentence for the operator; the stack only when asked for.
    console.error(`tollgate: ${(err as Error).message}`);
    if (process.env.TOLLGATE_LOG_LEVEL === 'debug') console.error(err);
    process.exitCode = usage ? 2 : 1;
    // A failed start may leave handles open (a pool, a timer): do not hang on them.
    if (command === 'serve') process.exit(process.exitCode);
  }
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
  let t: Awaited<ReturnType<typeof startTollgate>>;
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
    const { startDemo } = await import('../main/demo.js');
    const demo = await startDemo(t);
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

async function apisCommand(args: string[]): Promise<void> {
  const { positionals } = parseFlags(args);
  const which = positionals[0];
  const port = Number(positionals.find((p) => p.startsWith('port='))?.slice(5) ?? 0);
  const apis = await import('../apis/index.js');
  const started =
    which === 'capture'
      ? await apis.startCaptureApi({ port, host: '0.0.0.0' })
      : which === 'nouns'
        ? await apis.startNounsApi({ port, host: '0.0.0.0' })
        : null;
  if (!started) {
    console.error('usage: tollgate apis capture|nouns [--port N]');
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
