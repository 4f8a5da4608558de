/**
 * MeterUsage's ClientToken (API reference: "a unique, case-sensitive identifier ... to
 * ensure idempotency"): per credential, the first request with a token stores its
 * parameters and MeteringRecordId; a retry with the same token and parameters answers that
 * id again without metering twice; the same token with other parameters is an
 * IdempotencyConflictException. The (credential, token) primary key decides a race.
 */
import type { Db } from '../../store/index.js';
import { AwsError, validationError } from './errors.js';

export async function withClientToken(
  db: Db,
  accessKeyId: string,
  token: unknown,
  params: Record<string, unknown>,
  now: number,
  run: () => Promise<string>,
): Promise<string> {
  if (token === undefined || token === null) return run();
  if (typeof token !== 'string' || token.length < 1 || token.length > 255)
    throw validationError('clientToken', String(token), 'Member must have length between 1 and 255');
  const canonical = stableJson(params);
  const seen = async () => {
    const r = await db
      .selectFrom('marketplace_client_tokens')
      .select(['params', 'metering_record_id'])
      .where('access_key_id', '=', accessKeyId)
      .where('client_token', '=', token)
      .executeTakeFirst();
    if (r && r.params !== canonical)
      throw new AwsError(
        'IdempotencyConflictException',
        'The ClientToken was already used with different request parameters.',
      );
    return r?.metering_record_id;
  };
  const before = await seen();
  if (before) return before;
  const id = await run();
  const ins = await db
    .insertInto('marketplace_client_tokens')
    .values({
      access_key_id: accessKeyId,
      client_token: token,
      params: canonical,
      metering_record_id: id,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['access_key_id', 'client_token']).doNothing())
    .executeTakeFirst();
  if (Number(ins.numInsertedOrUpdatedRows ?? 0n) > 0) return id;
  return (await seen()) ?? id;
}

/** JSON with object keys sorted at every depth, so equal parameters compare equal as text. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
