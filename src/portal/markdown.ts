/**
 * Product descriptions are Markdown written by providers and read by buyers, so they are
 * untrusted: markdown-it with `html: false` escapes any raw HTML, links are kept only for
 * http(s), mailto and same-site relative targets (no javascript:, data:, vbscript:…), and
 * every link gets rel="nofollow noopener noreferrer". Images are allowed only from https.
 */
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

md.validateLink = (url: string): boolean => {
  const u = url.trim().toLowerCase();
  if (u.startsWith('//')) return false;
  if (u.startsWith('/') || u.startsWith('#') || u.startsWith('./') || u.startsWith('../')) return true;
  if (/^[a-z][a-z0-9+.-]*:/.test(u))
    return u.startsWith('https:') || u.startsWith('http:') || u.startsWith('mailto:');
  return /^[^:]*$/.test(u);
};

const defaultImage = md.renderer.rules.image!;
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const src = tokens[idx]!.attrGet('src') ?? '';
  if (!src.toLowerCase().startsWith('https:')) return md.utils.escapeHtml(tokens[idx]!.content || '');
  return defaultImage(tokens, idx, options, env, self);
};

md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  tokens[idx]!.attrSet('rel', 'nofollow noopener noreferrer');
  return self.renderToken(tokens, idx, options);
};

/** Safe HTML for a provider's Markdown. */
export function renderMarkdown(text: string): string {
  return md.render(text.slice(0, 100_000));
}
