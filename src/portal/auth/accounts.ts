/**
 * Portal accounts: sign-up (a buyer gets a marketplace consumer, a provider member gets or
 * joins a provider organisation), log-in with throttling, and password reset by mailed link.
 *
 * Throttling: at most MAX_FAILURES failed log-ins per (email, client address), and
 * MAX_FAILURES_PER_IP per client address over all emails, in a sliding FAILURE_WINDOW_MS;
 * past that, log-in answers "throttled" with the wait, even for the right password. An unknown email costs the same scrypt as a known one (a decoy hash), and both
 * count as failures, so neither timing nor throttling tells whether an account exists.
 *
 * Reset tokens: 32 random bytes, stored as SHA-256, valid for RESET_TTL_MS, used once (a
 * conditional UPDATE … WHERE used_at IS NULL claims it, so two racing uses cannot both win).
 * A successful reset ends every session of the user.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashKey, randomSecret } from '../../keys/index.js';
import { type FieldIssue, isTollgateError, newId, TollgateError } from '../../shared/index.js';
import type { Db, Tx } from '../../store/index.js';
import type { PortalUserTable } from '../../store/tables/portal.js';
import type { PortalDeps } from '../deps.js';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './passwords.js';

export const MAX_FAILURES = 5;
/** Failures from one address over all emails (credential stuffing) before it is paused too. */
export const MAX_FAILURES_PER_IP = 50;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const RESET_TTL_MS = 3600_000;

export type Role = 'buyer' | 'provider';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  consumerId: string | null;
  providerId: string | null;
}

export type LogInResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

const PORTAL_ACTOR = { kind: 'operator', id: 'portal' } as const;

const emailSchema = z.email('must be an email address').max(320);

export function normalEmail(raw: unknown): string {
  return String(raw ?? '')
    .trim()
    .toLowerCase();
}

function userView(r: PortalUserTable): User {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role as Role,
    consumerId: r.consumer_id,
    providerId: r.provider_id,
  };
}

function invalidFields(issues: FieldIssue[]): TollgateError {
  return new TollgateError(
    'VALIDATION_FAILED',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  );
}

export interface SignUpInput {
  email: string;
  name: string;
  password: string;
  role?: Role;
  /** Provider sign-up: the organisation's name (a new provider). */
  organisation?: string;
}

export interface SignUpResult {
  /** The new account; null when the email already had one (nothing was created). */
  user: User | null;
}

export function createAccounts(deps: Pick<PortalDeps, 'store' | 'clock' | 'catalog' | 'log'>) {
  const { db } = deps.store;
  const { clock } = deps;

  async function byEmail(email: string) {
    return db.selectFrom('portal_users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  function check(input: { email: string; name: string; password: string }): FieldIssue[] {
    const issues: FieldIssue[] = [];
    if (!emailSchema.safeParse(input.email).success)
      issues.push({ field: 'email', message: 'must be an email address' });
    if (!input.name.trim()) issues.push({ field: 'name', message: 'is required' });
    else if (input.name.length > 200)
      issues.push({ field: 'name', message: 'must be at most 200 characters' });
    const pw = passwordProblem(input.password);
    if (pw) issues.push({ field: 'password', message: pw });
    return issues;
  }

  async function insertUser(
    tx: Db | Tx,
    row: Omit<PortalUserTable, 'id' | 'created_at' | 'updated_at'>,
  ): Promise<User> {
    const now = clock.now();
    const full: PortalUserTable = { ...row, id: newId('usr', now), created_at: now, updated_at: now };
    await tx.insertInto('portal_users').values(full).execute();
    return userView(full);
  }

  /** The answer when the email already has an account: nothing created, the same to the caller. */
  const TAKEN: SignUpResult = { user: null };

  return {
    /**
     * Self-service sign-up. Role `provider` needs `organisation` (the caller decides if it is
     * allowed). The user and its consumer (or provider) commit in one transaction, or neither.
     * An email that already has an account creates nothing and answers `{ user: null }`; the
     * caller answers exactly as for a new account and tells the owner by mail, so sign-up
     * never says whether an address is registered.
     */
    async signUp(input: SignUpInput): Promise<SignUpResult> {
      const email = normalEmail(input.email);
      const name = String(input.name ?? '').trim();
      const role = input.role ?? 'buyer';
      const issues = check({ email, name, password: input.password });
      const org = String(input.organisation ?? '').trim();
      if (role === 'provider' && !org) issues.push({ field: 'organisation', message: 'is required' });
      if (org.length > 200) issues.push({ field: 'organisation', message: 'must be at most 200 characters' });
      if (issues.length) throw invalidFields(issues);
      const password_hash = await hashPassword(input.password);
      if (await byEmail(email)) return TAKEN;
      let user: User | null = null;
      const addUser = async (tx: Tx, links: { consumer_id: string | null; provider_id: string | null }) => {
        user = await insertUser(tx, { email, name, password_hash, role, ...links });
      };
      try {
        if (role === 'provider') {
          await deps.catalog.providers.create(PORTAL_ACTOR, { name: org }, (tx, provider) =>
            addUser(tx, { consumer_id: null, provider_id: provider.id }),
          );
        } else {
          await deps.catalog.consumers.create(
            PORTAL_ACTOR,
            { providerId: null, name, email },
            (tx, consumer) => addUser(tx, { consumer_id: consumer.id, provider_id: null }),
          );
        }
      } catch (err) {
        // Two sign-ups racing for one address: the unique index refused the second.
        if (isTollgateError(err) && err.code === 'CONFLICT' && (await byEmail(email))) return TAKEN;
        throw err;
      }
      return { user };
    },

    /** For the operator (CLI, demo): an account linked to an existing consumer or provider. */
    async createUser(input: {
      email: string;
      name: string;
      password: string;
      role: Role;
      consumerId?: string;
      providerId?: string;
    }): Promise<User> {
      const email = normalEmail(input.email);
      const issues = check({ email, name: input.name, password: input.password });
      if (input.role === 'provider' && !input.providerId)
        issues.push({ field: 'providerId', message: 'is required' });
      if (input.role === 'buyer' && !input.consumerId)
        issues.push({ field: 'consumerId', message: 'is required' });
      if (issues.length) throw invalidFields(issues);
      if (input.providerId) await deps.catalog.providers.get(PORTAL_ACTOR, input.providerId);
      if (input.consumerId) await deps.catalog.consumers.get(PORTAL_ACTOR, input.consumerId);
      if (await byEmail(email)) throw invalidFields([{ field: 'email', message: 'is already registered' }]);
      return insertUser(db, {
        email,
        name: input.name.trim(),
        password_hash: await hashPassword(input.password),
        role: input.role,
        consumer_id: input.role === 'buyer' ? input.consumerId! : null,
        provider_id: input.role === 'provider' ? input.providerId! : null,
      });
    },

    async get(id: string): Promise<User | null> {
      const r = await db.selectFrom('portal_users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? userView(r) : null;
    },

    async logIn(rawEmail: string, password: string, ip: string): Promise<LogInResult> {
      const email = normalEmail(rawEmail).slice(0, 320);
      const now = clock.now();
      const since = now - FAILURE_WINDOW_MS;
      const recent = await db
        .selectFrom('portal_login_failures')
        .select(['at'])
        .where('email', '=', email)
        .where('ip', '=', ip)
        .where('at', '>', since)
        .orderBy('at', 'asc')
        .execute();
      if (recent.length >= MAX_FAILURES) {
        const oldest = Number(recent[recent.length - MAX_FAILURES]!.at);
        return {
          ok: false,
          reason: 'throttled',
          retryAfterMs: Math.max(1000, oldest + FAILURE_WINDOW_MS - now),
        };
      }
      const fromIp = await db
        .selectFrom('portal_login_failures')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number>('at').as('first')])
        .where('ip', '=', ip)
        .where('at', '>', since)
        .executeTakeFirst();
      if (Number(fromIp?.n ?? 0) >= MAX_FAILURES_PER_IP) {
        const retryAfterMs = Math.max(1000, Number(fromIp!.first) + FAILURE_WINDOW_MS - now);
        return { ok: false, reason: 'throttled', retryAfterMs };
      }
      const row = await byEmail(email);
      const ok = await verifyPassword(password.slice(0, 1000), row?.password_hash ?? (await decoyHash()));
      if (!row || !ok) {
        await db
          .insertInto('portal_login_failures')
          .values({ id: randomUUID(), email, ip, at: now })
          .execute();
        // Housekeeping: old failures are never read again.
        await db
          .deleteFrom('portal_login_failures')
          .where('at', '<', now - 24 * 3600_000)
          .execute();
        return { ok: false, reason: 'invalid' };
      }
      await db.deleteFrom('portal_login_failures').where('email', '=', email).where('ip', '=', ip).execute();
      return { ok: true, user: userView(row) };
    },

    /** Mails a single-use reset link when the email belongs to an account; silent otherwise. */
    async requestReset(rawEmail: string, baseUrl: string, mail: PortalDeps['mail']): Promise<void> {
      const row = await byEmail(normalEmail(rawEmail));
      if (!row) return;
      const token = randomSecret(32);
      const now = clock.now();
      await db
        .insertInto('portal_password_resets')
        .values({
          token_hash: hashKey(token),
          user_id: row.id,
          created_at: now,
          expires_at: now + RESET_TTL_MS,
          used_at: null,
        })
        .execute();
      await mail({
        to: row.email,
        subject: 'Reset your Tollgate password',
        text:
          `Someone (hopefully you) asked to reset the password of ${row.email}.\n\n` +
          `Open this link within an hour to choose a new one:\n${baseUrl}/reset/${token}\n\n` +
          'If you did not ask, ignore this message: your password stays as it is.',
      });
    },

    /** True when the token is unused and unexpired (the form is shown only then). */
    async resetTokenValid(token: string): Promise<boolean> {
      const r = await db
        .selectFrom('portal_password_resets')
        .select('token_hash')
        .where('token_hash', '=', hashKey(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', clock.now())
        .executeTakeFirst();
      return !!r;
    },

    /** Sets a new password with a reset token; null when the token is unknown, used or expired. */
    async resetPassword(token: string, password: string): Promise<User | null> {
      const pw = passwordProblem(password);
      if (pw) throw invalidFields([{ field: 'password', message: pw }]);
      const now = clock.now();
      const hash = hashKey(token);
      const password_hash = await hashPassword(password);
      return db.transaction().execute(async (tx) => {
        const claimed = await tx
          .updateTable('portal_password_resets')
          .set({ used_at: now })
          .where('token_hash', '=', hash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('user_id')
          .executeTakeFirst();
        if (!claimed) return null;
        await tx
          .updateTable('portal_users')
          .set({ password_hash, updated_at: now })
          .where('id', '=', claimed.user_id)
          .execute();
        await tx.deleteFrom('portal_sessions').where('user_id', '=', claimed.user_id).execute();
        const row = await tx
          .selectFrom('portal_users')
          .selectAll()
          .where('id', '=', claimed.user_id)
          .executeTakeFirstOrThrow();
        await tx.deleteFrom('portal_login_failures').where('email', '=', row.email).execute();
        return userView(row);
      });
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
