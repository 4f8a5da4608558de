/**
 * Webhook endpoints: where a provider's events go, and the signing secret of each.
 *
 * Signing secrets are stored sealed with the installation secret (src/shared/seal.ts): a
 * database dump alone does not reveal them. Rows from before migration 014 are sealed by
 * `sealStoredSecrets`, which every start runs. Endpoint URLs are judged by the outbound
 * policy when written (400 naming `url`).
 */
import { z } from 'zod';
import { randomSecret } from '../keys/index.js';
import {
  type Clock,
  type Logger,
  newId,
  notFound,
  type OutboundPolicy,
  seal,
  TollgateError,
  unseal,
} from '../shared/index.js';
import type { Db } from '../store/index.js';

export const endpointInputSchema = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000),
  /** Omit to have one generated (returned once). */
  secret: z.string().min(16).max(200).optional(),
  enabled: z.boolean().default(true),
});
export type EndpointInput = z.input<typeof endpointInputSchema>;
/** A change: only what is sent changes (no defaults, so a URL edit never re-enables an endpoint). */
export const endpointUpdateSchema = z.object({
  url: endpointInputSchema.shape.url.optional(),
  secret: endpointInputSchema.shape.secret,
  enabled: z.boolean().optional(),
});

export interface EndpointView {
  id: string;
  providerId: string;
  url: string;
  enabled: boolean;
  createdAt: number;
}

export interface Endpoints {
  addEndpoint(providerId: string, input: EndpointInput): Promise<EndpointView & { secret: string }>;
  listEndpoints(providerId: string): Promise<EndpointView[]>;
  updateEndpoint(id: string, input: Partial<EndpointInput>): Promise<EndpointView>;
  rotateSecret(id: string): Promise<{ secret: string }>;
  removeEndpoint(id: string): Promise<void>;
  /** Seals signing secrets still stored in clear (rows from before migration 014); returns how many. */
  sealStoredSecrets(): Promise<number>;
}

/** The signing secret of an endpoint row; null when it cannot be opened (logged). */
export type SigningSecret = (
  endpointId: string,
  row: { secret: string; secret_sealed: string | null },
) => string | null;

export interface EndpointDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  outbound: OutboundPolicy;
  /** The sealing key derived from the installation secret. */
  key: Buffer;
}

export function createEndpoints({ db, clock, log, outbound, key }: EndpointDeps): Endpoints & {
  signingSecret: SigningSecret;
} {
  /** The columns a signing secret is stored in: sealed, the clear column emptied. */
  const stored = (secret: string) => ({ secret: '', secret_sealed: seal(key, secret) });

  const signingSecret: SigningSecret = (endpointId, row) => {
    if (row.secret_sealed === null) return row.secret; // written before 014, not sealed yet
    try {
      return unseal(key, row.secret_sealed);
    } catch (err) {
      log.error(
        { err, endpointId },
        'webhook signing secret cannot be opened: was the installation secret changed?',
      );
      return null;
    }
  };

  const view = (r: {
    id: string;
    provider_id: string;
    url: string;
    enabled: number;
    created_at: number;
  }) => ({
    id: r.id,
    providerId: r.provider_id,
    url: r.url,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
  });

  return {
    signingSecret,
    async addEndpoint(providerId, input) {
      const p = parse(endpointInputSchema, input);
      await outbound.assert('url', p.url);
      const now = clock.now();
      const secret = p.secret ?? `whsec_${randomSecret()}`;
      const row = {
        id: newId('whk', now),
        provider_id: providerId,
        url: p.url,
        ...stored(secret),
        enabled: p.enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('webhook_endpoints').values(row).execute();
      return { ...view(row), secret };
    },

    async listEndpoints(providerId) {
      const rows = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'provider_id', 'url', 'enabled', 'created_at'])
        .where('provider_id', '=', providerId)
        .orderBy('id')
        .execute();
      return rows.map(view);
    },

    async updateEndpoint(id, input) {
      const p = parse(endpointUpdateSchema, input);
      if (p.url !== undefined) await outbound.assert('url', p.url);
      const set: Record<string, unknown> = { updated_at: clock.now() };
      if (p.url !== undefined) set.url = p.url;
      if (p.secret !== undefined) Object.assign(set, stored(p.secret));
      if (p.enabled !== undefined) set.enabled = p.enabled ? 1 : 0;
      const r = await db.updateTable('webhook_endpoints').set(set).where('id', '=', id).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('webhook endpoint', id);
      const row = await db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return view(row);
    },

    async rotateSecret(id) {
      const secret = `whsec_${randomSecret()}`;
      const r = await db
        .updateTable('webhook_endpoints')
        .set({ ...stored(secret), updated_at: clock.now() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('webhook endpoint', id);
      return { secret };
    },

    async sealStoredSecrets() {
      const clear = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'secret'])
        .where('secret_sealed', 'is', null)
        .execute();
      for (const r of clear) {
        await db
          .updateTable('webhook_endpoints')
          .set(stored(r.secret))
          .where('id', '=', r.id)
          .where('secret_sealed', 'is', null) // another process may have sealed it meanwhile
          .execute();
      }
      if (clear.length) log.info({ endpoints: clear.length }, 'webhook signing secrets sealed');
      return clear.length;
    },

    async removeEndpoint(id) {
      const r = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw notFound('webhook endpoint', id);
    },
  };
}

/** zod → a VALIDATION_FAILED error naming each bad field. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  throw new TollgateError(
    'VALIDATION_FAILED',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  );
}
