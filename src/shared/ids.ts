/**
 * Prefixed, time-sortable ids: `key_01JD3…`. The body is a ULID (48-bit ms timestamp +
 * 80 random bits, Crockford base32), so ids sort by creation time and serve as paging cursors.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix =
  | 'prv'
  | 'api'
  | 'rte'
  | 'pln'
  | 'prc'
  | 'con'
  | 'sub'
  | 'key'
  | 'tok'
  | 'aud'
  | 'inv'
  | 'lin'
  | 'prd'
  | 'lic'
  | 'mtr'
  | 'evt'
  | 'whk'
  | 'adj'
  | 'ses'
  | 'usr'
  | 'dep'
  | 'cred';

/**
 * Random bytes are drawn from a pool refilled 4 KiB at a time: one randomBytes(16) per id
 * was a visible cost where ids are made by the ten thousand (invoice lines, audit rows).
 * The pool is the same CSPRNG's output, used once each.
 */
const POOL = 4096;
let pool = Buffer.alloc(0);
let used = POOL;

function random16(): Buffer {
  if (used + 16 > pool.length) {
    pool = randomBytes(POOL);
    used = 0;
  }
  const out = pool.subarray(used, used + 16);
  used += 16;
  return out;
}

function ulid(nowMs: number): string {
  let ts = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    ts = ALPHABET[t % 32] + ts;
    t = Math.floor(t / 32);
  }
  const bytes = random16();
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i]! % 32];
  return ts + rand;
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  return `${prefix}_${ulid(nowMs)}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[0-9A-Z]{26}$/.test(id.slice(prefix.length + 1));
}
