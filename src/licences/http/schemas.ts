/**
 * Zod schemas of the licence admin routes: requests (strict objects, so an unknown field is
 * a 400 naming it) and responses (which also generate the OpenAPI document), plus the
 * record → JSON view mapping. Times in and out are ISO 8601 strings like the rest of the
 * admin API; the service keeps ms and rounds licence dates down to the second (JWT
 * NumericDate), so a `validUntil` of `…:00.500Z` reads back as `…:00.000Z`.
 */
import { z } from '@hono/zod-openapi';
import { schemas as s } from '../../catalog/index.js';
import { MAX_DEPLOYMENTS } from '../records.js';
import type { LicenceRecord, SigningKeyInfo } from '../service.js';

const id = z.string().min(1).max(64);
const isoTime = z.iso.datetime({ offset: true }).openapi({ example: '2027-01-01T00:00:00Z' });
const time = z.string().openapi({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' });

export const LICENCE_STATUSES = ['scheduled', 'active', 'expired', 'revoked'] as const;
export type LicenceStatus = (typeof LICENCE_STATUSES)[number];

const deployments = z
  .number()
  .int()
  .min(1)
  .max(MAX_DEPLOYMENTS)
  .openapi({ description: 'How many deployments (running instances) the licence allows' });

const limits = z
  .strictObject({
    rateLimit: z
      .number()
      .positive()
      .max(s.LIMITS.rate)
      .openapi({ description: 'Ceiling on requests per second a deployment may serve' }),
    burstLimit: z
      .number()
      .int()
      .min(1)
      .max(s.LIMITS.burst)
      .optional()
      .openapi({ description: 'Token-bucket size; defaults to rateLimit' }),
  })
  .openapi('LicenceLimits');

// ---------------------------------------------------------------- requests

export const LicenceIssue = z
  .strictObject({
    providerId: id.optional().openapi({ description: 'Required for an operator token; implied otherwise' }),
    productId: id,
    consumerId: id.openapi({ description: 'The licensee (a consumer the provider can see)' }),
    subscriptionId: id
      .nullable()
      .optional()
      .openapi({ description: "The licensee's subscription to one of the provider's plans" }),
    deployments,
    features: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
    limits,
    validFrom: isoTime.optional().openapi({ description: 'Default: now' }),
    validUntil: isoTime,
  })
  .refine((v) => v.validFrom === undefined || Date.parse(v.validUntil) > Date.parse(v.validFrom), {
    message: 'must be after validFrom',
    path: ['validUntil'],
  })
  .openapi('LicenceIssue');
export type LicenceIssue = z.infer<typeof LicenceIssue>;

export const LicenceRenew = z.strictObject({ validUntil: isoTime }).openapi('LicenceRenew');

export const LicenceRevoke = z.strictObject({}).openapi('LicenceRevoke');

export const LicenceDeployments = z
  .strictObject({
    deployments,
    effectiveAt: isoTime.optional().openapi({
      description:
        'When the new count starts to be billed (default now); not before the latest change. The re-signed licence file carries the new count at once.',
    }),
  })
  .openapi('LicenceDeploymentChange');

export const KeyRotate = z
  .strictObject({ providerId: id.optional().openapi({ description: 'Required for an operator token' }) })
  .openapi('LicenceKeyRotate');

export const LicenceIdParam = z.object({
  id: id.openapi({ param: { name: 'id', in: 'path' }, example: 'lic_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P' }),
});

export const KidParam = z.object({
  kid: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'kid', in: 'path' }, description: 'RFC 7638 thumbprint of the key' }),
});

export const LicenceQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(s.LIMITS.pageMax).default(s.LIMITS.pageDefault),
  cursor: s.cursor,
  providerId: id.optional(),
  consumerId: id.optional(),
  productId: id.optional(),
  status: z.enum(LICENCE_STATUSES).optional(),
});

export const KeyQuery = z.strictObject({
  providerId: id.optional().openapi({ description: 'Required for an operator token' }),
});

export const ActivationQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(200)
    .openapi({ description: 'At most this many, newest heartbeat first' }),
  live: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: only instances holding a seat now; false: only the others' }),
});

export const TimelineQuery = z.strictObject({
  from: isoTime.optional().openapi({ description: 'Default: the licence start' }),
  to: isoTime.optional().openapi({ description: 'Default: the licence end' }),
});

// ---------------------------------------------------------------- responses

export const Licence = z
  .object({
    id: z.string(),
    providerId: z.string(),
    productId: z.string(),
    licensee: z.object({ id: z.string(), name: z.string() }),
    subscriptionId: z.string().nullable(),
    deployments: z.number().int(),
    features: z.array(z.string()),
    limits,
    validFrom: time,
    validUntil: time,
    status: z.enum(LICENCE_STATUSES),
    kid: z.string().openapi({ description: 'The key that signed the current licence file' }),
    revokedAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Licence');
export type LicenceView = z.infer<typeof Licence>;

export const LicencePage = z
  .object({ items: z.array(Licence), nextCursor: z.string().nullable() })
  .openapi('LicencePage');

export const Activation = z
  .object({
    instanceId: z.string(),
    firstSeen: time,
    lastSeen: time,
    releasedAt: time.nullable(),
    live: z.boolean().openapi({ description: 'Holds a seat: not released, heartbeat within the TTL' }),
  })
  .openapi('LicenceActivation');

export const Activations = z
  .object({
    licenceId: z.string(),
    deployments: z.number().int(),
    inUse: z.number().int(),
    heartbeatTtlMs: z.number().int(),
    items: z.array(Activation),
  })
  .openapi('LicenceActivations');

export const Timeline = z
  .object({
    licenceId: z.string(),
    from: time,
    to: time,
    segments: z.array(z.object({ from: time, to: time, quantity: z.number().int() })),
  })
  .openapi('LicenceTimeline');

const PublicJwk = z
  .looseObject({ kid: z.string(), kty: z.string(), crv: z.string().optional(), x: z.string().optional() })
  .openapi('LicencePublicJwk');

export const SigningKey = z
  .object({
    kid: z.string(),
    providerId: z.string(),
    status: z.enum(['active', 'previous', 'retired']),
    publicJwk: PublicJwk,
    createdAt: time,
    retiredAt: time.nullable(),
  })
  .openapi('LicenceSigningKey');

export const SigningKeyList = z.object({ items: z.array(SigningKey) }).openapi('LicenceSigningKeyList');

// ---------------------------------------------------------------- views

const iso = (ms: number): string => new Date(ms).toISOString();

export function statusOf(r: LicenceRecord, now: number): LicenceStatus {
  if (r.revokedAt !== null) return 'revoked';
  if (now < r.validFrom) return 'scheduled';
  if (now >= r.validUntil) return 'expired';
  return 'active';
}

export function licenceView(r: LicenceRecord, now: number): LicenceView {
  return {
    id: r.id,
    providerId: r.providerId,
    productId: r.productId,
    licensee: { id: r.licensee.id, name: r.licensee.name },
    subscriptionId: r.subscriptionId ?? null,
    deployments: r.deployments,
    features: r.features,
    limits: r.limits,
    validFrom: iso(r.validFrom),
    validUntil: iso(r.validUntil),
    status: statusOf(r, now),
    kid: r.kid,
    revokedAt: r.revokedAt === null ? null : iso(r.revokedAt),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export function keyView(k: SigningKeyInfo): z.infer<typeof SigningKey> {
  return {
    kid: k.kid,
    providerId: k.providerId,
    status: k.status,
    publicJwk: k.publicJwk as z.infer<typeof PublicJwk>,
    createdAt: iso(k.createdAt),
    retiredAt: k.retiredAt === null ? null : iso(k.retiredAt),
  };
}

export { iso };
