#!/usr/bin/env node
// `npm start`'s first step: compile TypeScript only when dist/ is older than a source file
// or a build setting, so a second start takes seconds. Says what it does while it works.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs; // a deleted file changes its folder
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) => join(root, p));
const sources = Math.max(...inputs.filter(existsSync).map(newest));
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built >= sources) {
  console.log('tollgate: build is up to date (dist/), starting');
  process.exit(0);
}
console.log('tollgate: compiling TypeScript into dist/ (about a minute the first time)…');
const started = Date.now();
const r = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log(`tollgate: compiled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
