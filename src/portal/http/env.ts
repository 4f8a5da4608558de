/** The Hono environment of portal handlers: who is logged in, the CSRF token, the parsed form. */
import type { Context } from 'hono';
import type { User } from '../auth/accounts.js';
import type { Session } from '../auth/sessions.js';

export type FormValue = string | File;
export type Form = Record<string, FormValue | FormValue[]>;

export interface PortalEnv {
  Variables: {
    user: User | null;
    session: Session | null;
    /** The cookie value of the session (needed to rotate it at log-in). */
    sessionId: string | undefined;
    /** Token every form of this page must echo in `_csrf`. */
    csrf: string;
    /** The parsed body of a POST (form or multipart), already CSRF-checked. */
    form: Form;
  };
}

export type PortalContext = Context<PortalEnv>;

/** One text field of the parsed form ('' when absent; the first value when repeated). */
export function field(c: PortalContext, name: string): string {
  const v = c.get('form')?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : '';
}

/** Every text value of a repeated field (checkboxes). */
export function fields(c: PortalContext, name: string): string[] {
  const v = c.get('form')?.[name] ?? c.get('form')?.[`${name}[]`];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === 'string');
}

export function file(c: PortalContext, name: string): File | null {
  const v = c.get('form')?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one instanceof File && one.size > 0 ? one : null;
}
