/**
 * Every migration, in order. Add a new file `NNN_name.ts` and one line here; never edit a
 * migration that has shipped. Each runs in a transaction on both dialects.
 */
import type { Migration } from 'kysely';
import * as core from './001_core.js';

export const migrations: Record<string, Migration> = {
  '001_core': core,
};
