#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (`npm run build` first).
import('../dist/cli/index.js').then((m) => m.main(process.argv.slice(2)));
