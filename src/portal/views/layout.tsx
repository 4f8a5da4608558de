/**
 * The page shell: header with the navigation for the visitor's role, main content, footer.
 * Every text goes through hono/jsx, which escapes it; `raw` is used only for the doctype
 * and for HTML this module produced itself (rendered Markdown, SVG charts).
 */

import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { User } from '../auth/accounts.js';

export interface PageProps {
  title: string;
  user: User | null;
  csrf: string;
  /** Path of the current page, to mark the nav item. */
  path?: string;
  /** Extra script files (served from /assets/portal). */
  scripts?: string[];
  styles?: string[];
  /** A one-line notice shown above the content. */
  notice?: { kind: 'ok' | 'error' | 'info'; text: string } | null;
  wide?: boolean;
  children?: Child;
}

const BUYER_NAV: Array<[string, string]> = [
  ['/', 'Marketplace'],
  ['/account', 'Subscriptions'],
  ['/account/keys', 'Keys'],
  ['/account/usage', 'Usage'],
  ['/account/invoices', 'Invoices'],
  ['/account/billing', 'Billing'],
];
const PROVIDER_NAV: Array<[string, string]> = [
  ['/console/apis', 'APIs'],
  ['/console/plans', 'Plans'],
  ['/console/products', 'Products'],
  ['/console/subscribers', 'Subscribers'],
  ['/console/revenue', 'Revenue'],
  ['/console/invoices', 'Invoices'],
  ['/console/webhooks', 'Webhooks'],
  ['/console/payments', 'Payments'],
];

function isCurrent(href: string, path: string | undefined): boolean {
  if (!path) return false;
  if (href === '/' || href === '/account') return path === href;
  return path === href || path.startsWith(`${href}/`);
}

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function Layout(props: PageProps) {
  const nav =
    props.user?.role === 'provider' ? PROVIDER_NAV : props.user ? BUYER_NAV : [['/', 'Marketplace']];
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Tollgate`}</title>
          <link rel="stylesheet" href="/assets/portal/portal.css" />
          {(props.styles ?? []).map((s) => (
            <link rel="stylesheet" href={`/assets/portal/${s}`} />
          ))}
          <script src="/assets/portal/portal.js" defer></script>
          {(props.scripts ?? []).map((s) => (
            <script src={`/assets/portal/${s}`} defer></script>
          ))}
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <a class="brand" href={props.user?.role === 'provider' ? '/console' : '/'}>
              Tollgate
            </a>
            <nav aria-label="Main">
              <ul>
                {nav.map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={isCurrent(href!, props.path) ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="who">
              {props.user ? (
                <form method="post" action="/logout" class="inline">
                  <CsrfField token={props.csrf} />
                  <span class="muted">{props.user.email}</span>{' '}
                  <button type="submit" class="link">
                    Log out
                  </button>
                </form>
              ) : (
                <span>
                  <a href="/login">Log in</a> · <a href="/signup">Sign up</a>
                </span>
              )}
            </div>
          </header>
          <main id="main" class={props.wide ? 'wide' : undefined}>
            {props.notice ? (
              <p
                class={`notice ${props.notice.kind}`}
                role={props.notice.kind === 'error' ? 'alert' : 'status'}
              >
                {props.notice.text}
              </p>
            ) : null}
            {props.children}
          </main>
          <footer class="foot muted">Tollgate · self-hosted API marketplace</footer>
        </body>
      </html>
    </>
  );
}
