/** Sign-up, log-in, log-out and password reset pages. */
import type { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { randomSecret } from '../../keys/index.js';
import { isTollgateError } from '../../shared/index.js';
import type { PortalDeps } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render, safeNext } from '../http/render.js';
import { clientIp, cookieNames, cookieOptions } from '../http/security.js';
import { ErrorSummary, type Errors, errorsOf, Field } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import { type Accounts, normalEmail, type User } from './accounts.js';
import type { Sessions } from './sessions.js';

const NOTICES: Record<string, string> = {
  reset: 'Your password was changed. Log in with the new one.',
  bye: 'You are logged out.',
};

export function authPages(
  app: Hono<PortalEnv>,
  deps: PortalDeps & { accounts: Accounts; sessions: Sessions; ttlMs: number },
) {
  const names = cookieNames(deps.config);
  // Links in mail come only from the configured publicUrl, never from the Host header (which
  // the caller controls: reset-link poisoning).
  const publicUrl = deps.config.publicUrl?.replace(/\/$/, '') ?? null;

  async function startSession(c: PortalContext, user: User) {
    // A new id at every log-in; the id the browser came with (if any) is dropped.
    const { id } = await deps.sessions.start(user.id, c.get('sessionId'));
    setCookie(c, names.session, id, cookieOptions(deps.config, Math.floor(deps.ttlMs / 1000)));
    deleteCookie(c, names.csrf, { path: '/', secure: deps.config.secureCookies });
  }

  const home = (u: User) => (u.role === 'provider' ? '/console' : '/account');

  /**
   * Sign-up with an email that already has an account: the answer has the shape of a new
   * account's (303 to the same place, a fresh session cookie — one bound to no session), and
   * the owner learns of it by mail. The next page then asks to log in.
   */
  async function answerAsIfCreated(c: PortalContext, rawEmail: string) {
    setCookie(c, names.session, randomSecret(32), cookieOptions(deps.config, Math.floor(deps.ttlMs / 1000)));
    deleteCookie(c, names.csrf, { path: '/', secure: deps.config.secureCookies });
    const where = publicUrl
      ? `Log in at ${publicUrl}/login, or choose a new password at ${publicUrl}/reset.`
      : 'Log in to the portal, or choose a new password there with "Forgot your password?".';
    await deps.mail({
      to: normalEmail(rawEmail),
      subject: 'You already have a Tollgate account',
      text:
        'Someone (hopefully you) tried to sign up with this address, which already has an account.\n' +
        `Nothing was changed. ${where}\n\n` +
        'If it was not you, ignore this message.',
    });
  }

  function signupForm(
    c: PortalContext,
    values: Record<string, string>,
    errors: Errors,
    status: 200 | 400 = 200,
  ) {
    const providers = deps.config.providerSignup === true;
    return render(
      c,
      'Sign up',
      <section class="narrow">
        <h1>Create your account</h1>
        <ErrorSummary errors={errors} />
        <form
          method="post"
          action={`/signup${values.next ? `?next=${encodeURIComponent(values.next)}` : ''}`}
          novalidate
        >
          <CsrfField token={c.get('csrf')} />
          <Field
            label="Your name"
            name="name"
            value={values.name}
            errors={errors}
            required
            autocomplete="name"
          />
          <Field
            label="Email"
            name="email"
            type="email"
            value={values.email}
            errors={errors}
            required
            autocomplete="email"
          />
          <Field
            label="Password"
            name="password"
            type="password"
            errors={errors}
            required
            autocomplete="new-password"
            hint="At least 10 characters. A passphrase is best."
          />
          {providers ? (
            <fieldset>
              <legend>I want to</legend>
              <label class="choice">
                <input type="radio" name="role" value="buyer" checked={values.role !== 'provider'} /> use APIs
              </label>
              <label class="choice">
                <input type="radio" name="role" value="provider" checked={values.role === 'provider'} /> sell
                my API
              </label>
              <Field
                label="Organisation (sellers)"
                name="organisation"
                value={values.organisation}
                errors={errors}
                autocomplete="organization"
              />
            </fieldset>
          ) : null}
          <button type="submit">Sign up</button>
        </form>
        <p>
          Already have an account? <a href="/login">Log in</a>
        </p>
      </section>,
      { status },
    );
  }

  app.get('/signup', (c) => signupForm(c, { next: c.req.query('next') ?? '' }, {}));

  app.post('/signup', async (c) => {
    const values = {
      name: field(c, 'name'),
      email: field(c, 'email'),
      role: field(c, 'role'),
      organisation: field(c, 'organisation'),
      next: c.req.query('next') ?? '',
    };
    const role = deps.config.providerSignup === true && values.role === 'provider' ? 'provider' : 'buyer';
    try {
      const { user } = await deps.accounts.signUp({ ...values, password: field(c, 'password'), role });
      if (user) await startSession(c, user);
      else await answerAsIfCreated(c, values.email);
      return c.redirect(safeNext(values.next, role === 'provider' ? '/console' : '/account'), 303);
    } catch (err) {
      if (isTollgateError(err) && err.code === 'VALIDATION_FAILED')
        return signupForm(c, values, errorsOf(err.issues), 400);
      throw err;
    }
  });

  function loginForm(c: PortalContext, email: string, error: string | null, status: 200 | 401 | 429 = 200) {
    const notice = NOTICES[c.req.query('done') ?? ''];
    const next = c.req.query('next');
    return render(
      c,
      'Log in',
      <section class="narrow">
        <h1>Log in</h1>
        {error ? (
          <p class="notice error" role="alert">
            {error}
          </p>
        ) : null}
        <form method="post" action={`/login${next ? `?next=${encodeURIComponent(next)}` : ''}`}>
          <CsrfField token={c.get('csrf')} />
          <Field label="Email" name="email" type="email" value={email} required autocomplete="username" />
          <Field label="Password" name="password" type="password" required autocomplete="current-password" />
          <button type="submit">Log in</button>
        </form>
        <p>
          <a href="/reset">Forgot your password?</a> · New here? <a href="/signup">Sign up</a>
        </p>
      </section>,
      { status, notice: notice ? { kind: 'ok', text: notice } : null },
    );
  }

  app.get('/login', (c) => loginForm(c, '', null));

  app.post('/login', async (c) => {
    const email = field(c, 'email');
    const r = await deps.accounts.logIn(
      email,
      field(c, 'password'),
      clientIp(c, deps.config.trustProxy === true),
    );
    if (!r.ok && r.reason === 'throttled') {
      const minutes = Math.ceil(r.retryAfterMs / 60_000);
      c.header('Retry-After', String(Math.ceil(r.retryAfterMs / 1000)));
      return loginForm(
        c,
        email,
        `Too many failed attempts. For your safety, log-in for this account is paused; try again in ${minutes} minute${minutes === 1 ? '' : 's'}, or reset your password.`,
        429,
      );
    }
    if (!r.ok) return loginForm(c, email, 'That email and password do not match an account.', 401);
    await startSession(c, r.user);
    return c.redirect(safeNext(c.req.query('next'), home(r.user)), 303);
  });

  app.post('/logout', async (c) => {
    await deps.sessions.end(c.get('sessionId'));
    deleteCookie(c, names.session, { path: '/', secure: deps.config.secureCookies });
    return c.redirect('/login?done=bye', 303);
  });

  app.get('/reset', (c) =>
    render(
      c,
      'Reset your password',
      <section class="narrow">
        <h1>Reset your password</h1>
        <p>We will email you a link to choose a new password. It works once, for an hour.</p>
        <form method="post" action="/reset">
          <CsrfField token={c.get('csrf')} />
          <Field label="Email" name="email" type="email" required autocomplete="email" />
          <button type="submit">Send the link</button>
        </form>
      </section>,
    ),
  );

  app.post('/reset', async (c) => {
    if (publicUrl) await deps.accounts.requestReset(field(c, 'email'), publicUrl, deps.mail);
    else
      deps.log.error(
        'password reset link not sent: the portal publicUrl is not set (links are never built from the Host header)',
      );
    return render(
      c,
      'Check your email',
      <section class="narrow">
        <h1>Check your email</h1>
        <p>If an account uses that address, a reset link is on its way. It is valid for one hour.</p>
      </section>,
    );
  });

  function newPasswordForm(c: PortalContext, token: string, errors: Errors, status: 200 | 400 = 200) {
    return render(
      c,
      'Choose a new password',
      <section class="narrow">
        <h1>Choose a new password</h1>
        <ErrorSummary errors={errors} />
        <form method="post" action={`/reset/${encodeURIComponent(token)}`}>
          <CsrfField token={c.get('csrf')} />
          <Field
            label="New password"
            name="password"
            type="password"
            errors={errors}
            required
            autocomplete="new-password"
            hint="At least 10 characters."
          />
          <button type="submit">Set the password</button>
        </form>
      </section>,
      { status },
    );
  }

  const expired = (c: PortalContext) =>
    errorPage(
      c,
      400,
      'This reset link is not valid any more (it was used, or it is more than an hour old). Ask for a new one at /reset.',
      'Link expired',
    );

  app.get('/reset/:token', async (c) => {
    const token = c.req.param('token');
    if (!(await deps.accounts.resetTokenValid(token))) return expired(c);
    return newPasswordForm(c, token, {});
  });

  app.post('/reset/:token', async (c) => {
    const token = c.req.param('token');
    try {
      const user = await deps.accounts.resetPassword(token, field(c, 'password'));
      if (!user) return expired(c);
      return c.redirect('/login?done=reset', 303);
    } catch (err) {
      if (isTollgateError(err) && err.code === 'VALIDATION_FAILED')
        return newPasswordForm(c, token, errorsOf(err.issues), 400);
      throw err;
    }
  });
}
