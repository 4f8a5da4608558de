/**
 * Every example in README.md and docs/*.md runs as written against a fresh demo.
 *
 * The test starts `tollgate serve --demo` on free ports, as the README tells a reader to,
 * then runs each document's shell commands in order, in one bash session per document (so
 * `export TG=…` and `KEY=$(curl …)` carry over to later commands, as in a terminal), and
 * checks each command's exit code and the HTTP status of every curl call in it against the
 * status its comment documents (test/docs/snippets.ts has the rules).
 *
 * What it substitutes is what the docs tell the reader to substitute ("Running the
 * examples" in README.md): `tga_…` the operator token and `tg_…` the key the demo printed;
 * the demo's ports 8080 and 8081 and the walk-through upstream's 8090 become the free ports
 * it runs on (also in a copy of examples/); `tollgate` and `node bin/tollgate.js` run the
 * sources through tsx. Any other `…` left in a command fails it. A command started in the
 * background (`… &`) is waited for until it prints that it is listening, as a reader would.
 *
 * docs/apigw.md is left out: its AWS CLI commands and JS SDK example are run by
 * test/apigw/cli.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, START_TIMEOUT_MS, startServe } from '../helpers/process.js';
import { type Block, blocksOf, type Command, commandsOf, isExample, isRunnable } from './snippets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/index.ts');
const SKIPPED_FILES = new Set(['docs/apigw.md']);
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
    .sort(),
].filter((f) => !SKIPPED_FILES.has(f));
const BLOCKS: Block[] = DOCS.flatMap((f) => blocksOf(f, readFileSync(join(ROOT, f), 'utf8')));

const missingTools = ['bash', 'curl', 'jq'].filter(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
);
if (missingTools.length && process.env.CI === 'true')
  throw new Error(`docs examples need ${missingTools.join(', ')}`);
if (missingTools.length) console.warn(`skipping the docs examples: ${missingTools.join(', ')} not installed`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitFor(what: string, read: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!read().includes(what)) {
    if (Date.now() > deadline) throw new Error(`the demo did not print "${what}":\n${read()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Demo {
  serve: ServeProcess;
  dir: string;
  token: string;
  key: string;
  ports: Record<string, string>;
}

async function startDemo(): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-docs-'));
  const upstream = await freePort();
  const serve = await startServe(
    [
      '--demo',
      ...['--gateway-port', '0', '--console-port', '0'],
      ...['--data-dir', join(dir, 'data'), '--database-url', `sqlite:${join(dir, 'data', 'tollgate.db')}`],
      ...['--outbound-allow', `127.0.0.1:${upstream}`],
    ],
    { TOLLGATE_OUTBOUND_ALLOW: '' },
  );
  await waitFor('Without a key:', serve.output);
  const token = /Operator admin token[^\n]*\n\s+(tga_\S+)/.exec(serve.output())?.[1];
  const key = /x-api-key: (tg_[^'\s]+)/.exec(serve.output())?.[1];
  if (!token || !key || !serve.gatewayUrl || !serve.consoleUrl)
    throw new Error(`the demo printed no token, key or address:\n${serve.output()}`);
  return {
    serve,
    dir,
    token,
    key,
    ports: {
      '127.0.0.1:8080': new URL(serve.gatewayUrl).host,
      '127.0.0.1:8081': new URL(serve.consoleUrl).host,
      '127.0.0.1:8090': `127.0.0.1:${upstream}`,
    },
  };
}

function substitute(demo: Demo, text: string): string {
  let out = text.replaceAll('tga_…', demo.token).replaceAll('tg_…', demo.key);
  for (const [from, to] of Object.entries(demo.ports)) {
    out = out.replaceAll(from, to).replaceAll(`--port ${from.split(':')[1]}`, `--port ${to.split(':')[1]}`);
  }
  return out.replaceAll('node bin/tollgate.js', 'tollgate');
}

/** A folder like a checkout for the commands' relative paths: examples/ with the demo's ports. */
function workdir(demo: Demo): string {
  const work = join(demo.dir, 'work');
  mkdirSync(work, { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  cpSync(join(ROOT, 'examples'), join(work, 'examples'), { recursive: true });
  for (const f of readdirSync(join(work, 'examples'))) {
    const path = join(work, 'examples', f);
    writeFileSync(path, substitute(demo, readFileSync(path, 'utf8')));
  }
  return work;
}

const PRELUDE = String.raw`
set +e
curl() { command curl -D "$(mktemp "$__D/h.$__I.XXXXXX")" "$@"; }
tollgate() { node --import tsx "$__CLI" "$@"; }
__end() {
  local s="" f
  for f in "$__D"/h.$__I.*; do
    [ -e "$f" ] || continue
    # one status per transfer (a curl with several URLs dumps them all); 1xx are interim
    s="$s $(grep -a '^HTTP/' "$f" | cut -d' ' -f2 | grep -v '^1' | tr '\n' ' ')"
  done
  echo "$__I $1$s" >> "$__D/results"
}
__listening() {
  local n=0
  until grep -q listening "$__D/out.$__I" 2>/dev/null || [ $n -ge 1200 ]; do sleep 0.1; n=$((n+1)); done
  disown -a
}
`;

interface Outcome {
  exit: number;
  statuses: number[];
  output: string;
}

/** Runs one document's commands in one bash session; the outcome of each, by index. */
async function runSession(
  demo: Demo,
  cwd: string,
  commands: Command[],
  name: string,
): Promise<Map<number, Outcome>> {
  const runDir = join(demo.dir, `run-${name.replace(/\W/g, '_')}`);
  mkdirSync(runDir);
  const script = [PRELUDE];
  commands.forEach((c, i) => {
    script.push(`__I=${i}`, '{', substitute(demo, c.code), `} > "$__D/out.${i}" 2>&1`, '__end $?');
    if (c.background) script.push('__listening');
  });
  writeFileSync(join(runDir, 'script.sh'), script.join('\n'));
  const bash = spawn('bash', [join(runDir, 'script.sh')], {
    cwd,
    detached: true, // its own process group: background commands end with it
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: demo.dir,
      LANG: 'C.UTF-8',
      __D: runDir,
      __CLI: CLI,
    },
  });
  const timer = setTimeout(() => bash.pid && process.kill(-bash.pid, 'SIGKILL'), 8 * 60_000);
  await new Promise<void>((r) => bash.once('exit', () => r()));
  clearTimeout(timer);
  try {
    if (bash.pid) process.kill(-bash.pid, 'SIGTERM');
  } catch {
    // the group is already gone
  }
  const outcomes = new Map<number, Outcome>();
  const results = readFileSync(join(runDir, 'results'), 'utf8').trim().split('\n');
  for (const line of results) {
    const [i, exit, ...statuses] = line.trim().split(/\s+/).map(Number);
    const output = readFileSync(join(runDir, `out.${i}`), 'utf8');
    outcomes.set(i as number, { exit: exit as number, statuses, output });
  }
  return outcomes;
}

function judge(c: Command, code: string, o: Outcome | undefined): string | null {
  if (code.includes('…')) return 'a placeholder the docs do not name (use a variable, or tga_…/tg_…)';
  if (!o) return 'never finished';
  if (!c.background && o.exit !== 0) return `exit code ${o.exit}`;
  if (c.expect.length === 0) {
    const bad = o.statuses.filter((s) => s < 200 || s > 299);
    return bad.length ? `answered ${bad.join(', ')} where the docs document no status (so 2xx)` : null;
  }
  const unexpected = o.statuses.filter((s) => !c.expect.includes(s));
  const unseen = c.expect.filter((s) => !o.statuses.includes(s));
  if (unexpected.length || unseen.length)
    return `documents ${c.expect.join(', ')}, answered ${o.statuses.join(', ') || 'nothing'}`;
  return null;
}

describe.skipIf(missingTools.length > 0)('the examples in README.md and docs/*.md', () => {
  let demo: Demo;
  let cwd: string;

  beforeAll(async () => {
    demo = await startDemo();
    cwd = workdir(demo);
  }, START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await demo?.serve.stop();
    if (demo) rmSync(demo.dir, { recursive: true, force: true });
  });

  it('every example either runs or says why not', () => {
    const examples = BLOCKS.filter((b) => isExample(b.lang));
    const unmarked = examples.filter((b) => !isRunnable(b.lang) && b.notRun === null);
    expect(
      unmarked.map((b) => `${b.file}:${b.line} (${b.lang}) runs nowhere: mark it <!-- not-run: reason -->`),
    ).toEqual([]);
    const notRun = examples.filter((b) => b.notRun !== null);
    const run = examples.filter((b) => b.notRun === null);
    console.info(
      `docs examples: ${run.length} blocks run, ${notRun.length} not run:\n${notRun
        .map((b) => `  ${b.file}:${b.line} — ${b.notRun}`)
        .join('\n')}`,
    );
    expect(run.length).toBeGreaterThan(5);
  });

  for (const file of DOCS) {
    const commands = BLOCKS.filter((b) => b.file === file && isRunnable(b.lang) && b.notRun === null).flatMap(
      commandsOf,
    );
    if (commands.length === 0) continue;
    it(
      `${file}: ${commands.length} commands run as written`,
      async () => {
        const outcomes = await runSession(demo, cwd, commands, file);
        const failures = commands.flatMap((c, i) => {
          const why = judge(c, substitute(demo, c.code), outcomes.get(i));
          if (!why) return [];
          const out = outcomes.get(i)?.output.slice(0, 800) ?? '';
          return [
            `${file}:${c.line} ${why}\n  $ ${c.code.split('\n')[0]}\n  ${out.replaceAll('\n', '\n  ')}`,
          ];
        });
        // What the servers a document started in the background said, to tell why a call failed.
        if (failures.length)
          for (const [i, c] of commands.entries())
            if (c.background)
              failures.push(`${file}:${c.line} (background) said:\n${outcomes.get(i)?.output}`);
        expect(failures).toEqual([]);
      },
      10 * 60_000,
    );
  }
});
