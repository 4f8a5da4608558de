/**
 * `npm start` a second time starts in seconds: its first step, scripts/build-if-stale.mjs,
 * compiles TypeScript only when a source or a build setting is newer than the last build.
 * The real script runs here on a one-file project laid out like this repository (its own
 * src/, tsconfig files, package-lock.json and this repository's TypeScript), so the test
 * costs one small compile, not the whole build. That the demo `npm start` runs listens on
 * 127.0.0.1 only is checked on the running demo in test/docs/screenshots.test.ts.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'src'));
    cpSync(join(ROOT, 'scripts/build-if-stale.mjs'), join(dir, 'scripts/build-if-stale.mjs'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'src/answer.ts'), 'export const answer: number = 42;\n');
    writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
    writeFileSync(
      join(dir, 'tsconfig.build.json'),
      JSON.stringify({
        compilerOptions: { outDir: 'dist', rootDir: 'src', module: 'nodenext', target: 'es2022' },
        include: ['src'],
      }),
    );
    writeFileSync(join(dir, 'package-lock.json'), '{}\n');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = () => {
    const began = performance.now();
    const r = spawnSync(process.execPath, [join(dir, 'scripts/build-if-stale.mjs')], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: performance.now() - began };
  };

  it('runs the built demo, building first only when needed', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe('node scripts/build-if-stale.mjs && node bin/tollgate.js serve --demo');
    expect(readFileSync(join(ROOT, 'bin/tollgate.js'), 'utf8')).toContain("import('../dist/cli/index.js')");
  });

  it('compiles on the first start and says so', () => {
    const first = start();
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('compiling TypeScript into dist/');
    expect(existsSync(join(dir, 'dist/answer.js'))).toBe(true);
  }, 180_000);

  it('does not compile on the second start, and is done in seconds', () => {
    const built = statSync(join(dir, 'dist/answer.js')).mtimeMs;
    const second = start();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('build is up to date');
    expect(second.out).not.toContain('compiling');
    expect(statSync(join(dir, 'dist/answer.js')).mtimeMs).toBe(built);
    // Node's own start and a walk of src/: well under the 5 s bound even on a loaded machine.
    expect(second.ms).toBeLessThan(5_000);
  });

  it('compiles again after a source changed, then is up to date again', () => {
    // A second after the last build's stamp: newer than it, and past by the time the next
    // build writes its own stamp.
    const edited = statSync(join(dir, 'dist/.build-stamp')).mtimeMs / 1000 + 1;
    writeFileSync(join(dir, 'src/answer.ts'), 'export const answer: number = 43;\n');
    utimesSync(join(dir, 'src/answer.ts'), edited, edited);
    const again = start();
    expect(again.out).toContain('compiling TypeScript into dist/');
    expect(readFileSync(join(dir, 'dist/answer.js'), 'utf8')).toContain('43');
    expect(start().out).toContain('build is up to date');
  }, 180_000);
});
