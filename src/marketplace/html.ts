/** Tiny HTML pages for the buyer-facing onboarding flow. Every interpolated value is escaped. */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
code,.key{font-family:ui-monospace,monospace}.key{display:block;padding:.75rem;background:#f3f4f6;border-radius:6px;word-break:break-all;user-select:all}
.warn{color:#8a4b00}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:#57606a}</style>
</head><body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

export interface WelcomeInput {
  productTitle: string;
  keyValue: string;
  keyPrefix: string;
  subscriptionId: string;
  status: string;
  customerAWSAccountId: string;
  customerIdentifier: string | null;
}

export function welcomePage(w: WelcomeInput): string {
  const pending = w.status === 'pending';
  return page(
    `Welcome to ${w.productTitle}`,
    `<p>Your subscription is set up. This is your API key. <strong>It is shown only once</strong>: copy it now and keep it secret.</p>
<p class="key" id="api-key">${escapeHtml(w.keyValue)}</p>
<p>Send it in the <code>x-api-key</code> header of every request.</p>
${pending ? '<p class="warn" id="pending">The key starts working as soon as the marketplace confirms your subscription (usually within a minute).</p>' : ''}
<dl><dt>Subscription</dt><dd><code>${escapeHtml(w.subscriptionId)}</code></dd>
<dt>Status</dt><dd id="status">${escapeHtml(w.status)}</dd>
<dt>Account</dt><dd>${escapeHtml(w.customerAWSAccountId)}</dd>
${w.customerIdentifier ? `<dt>Customer</dt><dd>${escapeHtml(w.customerIdentifier)}</dd>` : ''}
<dt>Key prefix</dt><dd><code>${escapeHtml(w.keyPrefix)}</code></dd></dl>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(title, `<p id="error">${escapeHtml(message)}</p>`);
}

/**
 * Marketplace side: the page that hands the buyer to the provider, as AWS does — a form
 * POST of `x-amzn-marketplace-token` to the registration URL, submitted by script, with a
 * button for browsers without it. The token travels in the body, never in a URL or cookie.
 */
export function registrationRedirectPage(url: string, token: string, productTitle: string): string {
  return page(
    `Continue to ${productTitle}`,
    `<p>Your subscription is ready. Continue to the provider to set up your account and get your API key.</p>
<form id="register" method="post" action="${escapeHtml(url)}">
<input type="hidden" name="x-amzn-marketplace-token" value="${escapeHtml(token)}">
<button type="submit">Continue</button>
</form>
<script>document.getElementById('register').submit()</script>`,
  );
}
