/**
 * `tollgate diff|apply|export`: configuration as code over the admin API. `diff` prints what
 * `apply` would change (exit 3 with `--exit-code` when there is anything), `apply` makes
 * exactly those changes (deletions only with `--prune`), `export` writes the provider's
 * current state as a file that applies as a no-op.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { applyChanges } from '../apply/apply.js';
import { diff, renderChanges } from '../apply/diff.js';
import { loadFile } from '../apply/load.js';
import { readState, resolveProvider, toFile } from '../apply/state.js';
import type { AdminClient } from '../client.js';
import { UsageError } from '../client.js';

export interface ConfigFlags {
  file?: string;
  prune?: boolean;
  json?: boolean;
  exitCode?: boolean;
  provider?: string;
  output?: string;
}

async function plan(client: AdminClient, flags: ConfigFlags) {
  if (!flags.file) throw new UsageError('-f FILE is required');
  const file = loadFile(flags.file);
  const { provider } = await resolveProvider(client, file.provider);
  const state = await readState(client, provider);
  return { file, state, changes: diff(file, state, { prune: flags.prune === true }) };
}

export async function diffCommand(client: AdminClient, flags: ConfigFlags): Promise<number> {
  const { changes } = await plan(client, flags);
  console.log(flags.json ? JSON.stringify(changes, null, 2) : renderChanges(changes));
  return flags.exitCode && changes.length > 0 ? 3 : 0;
}

export async function applyCommand(client: AdminClient, flags: ConfigFlags): Promise<number> {
  const { state, changes } = await plan(client, flags);
  if (changes.length === 0) {
    console.log(flags.json ? JSON.stringify({ applied: [] }) : 'No changes.');
    return 0;
  }
  const result = await applyChanges(client, state, changes);
  if (flags.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      renderChanges(result.applied)
        .replace(/to (create|update|delete)/g, '$1d')
        .replace(/created, (\d+) updated/, 'created, $1 updated'),
    );
    for (const s of result.secrets) console.log(`\n${s.what} (shown once, keep it safe):\n  ${s.value}`);
  }
  return 0;
}

export async function exportCommand(client: AdminClient, flags: ConfigFlags): Promise<number> {
  const { provider } = await resolveProvider(client, flags.provider);
  if (!provider) throw new UsageError(`no provider named ${JSON.stringify(flags.provider)}`);
  const file = toFile(await readState(client, provider));
  const text = flags.json
    ? `${JSON.stringify(file, null, 2)}\n`
    : `# tollgate.yaml: apply with "tollgate apply -f FILE"; its JSON Schema is docs/tollgate.schema.json\n${stringify(file, { lineWidth: 0 })}`;
  if (flags.output) writeFileSync(flags.output, text);
  else process.stdout.write(text);
  return 0;
}
