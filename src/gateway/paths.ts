/**
 * Route path templates, API Gateway style: literal segments, `{name}` for one segment, and
 * a final `{name+}` greedy segment that matches one or more. Matching is by segment, so
 * `/a/{id}` never matches `/a/b/c`. When several routes match, the most specific wins:
 * more literal segments first, then more segments, then greedy last (see `specificity`).
 */
export interface PathTemplate {
  source: string;
  segments: Segment[];
  greedy: boolean;
}

type Segment = { literal: string } | { param: string };

export function compilePath(template: string): PathTemplate {
  const parts = template.split('/').filter((p) => p !== '');
  const segments: Segment[] = [];
  let greedy = false;
  parts.forEach((part, i) => {
    const m = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(part);
    if (!m) {
      segments.push({ literal: part });
      return;
    }
    if (m[2] === '+') {
      if (i !== parts.length - 1) throw new Error(`greedy segment must be last in ${template}`);
      greedy = true;
    } else {
      segments.push({ param: m[1]! });
    }
  });
  return { source: template, segments, greedy };
}

/** `path` is the request path without query string, relative to the API. */
export function matchPath(t: PathTemplate, path: string): boolean {
  let pos = path.charCodeAt(0) === 47 /* / */ ? 1 : 0;
  for (const seg of t.segments) {
    if (pos > path.length) return false;
    let end = path.indexOf('/', pos);
    if (end === -1) end = path.length;
    if (end === pos) return false; // empty segment
    if ('literal' in seg && path.slice(pos, end) !== seg.literal) return false;
    pos = end + 1;
  }
  const rest = pos <= path.length ? path.slice(pos) : '';
  return t.greedy ? rest.length > 0 && rest !== '/' : rest === '' || rest === '/';
}

/** Higher sorts first. */
export function specificity(t: PathTemplate): number {
  const literals = t.segments.filter((s) => 'literal' in s).length;
  return (t.greedy ? 0 : 1_000_000) + literals * 1000 + t.segments.length;
}

/**
 * Whether the path of a request URL (the query string is not looked at) is one the gateway
 * may match and forward. Checked before matching, under public routes too, because an
 * upstream may read a path differently from the gateway and climb out of the API's base
 * path or past a route's template. Refused:
 *   - dot segments, plain or percent-encoded (`/..`, `/%2e%2e`, `/.%2E`): RFC 3986 §5.2.4
 *     would remove them;
 *   - backslashes, plain or encoded (`\`, `%5c`): some servers read them as `/`;
 *   - `;`, plain or encoded: path parameters (`/..;/`) that servlet containers strip before
 *     normalising;
 *   - an encoded `/` inside a segment (`%2f`), control characters (`%00`…`%1f`, `%7f`);
 *   - percent-encoding that is malformed or not valid UTF-8, overlong forms included
 *     (`%c0%ae`, which lenient decoders read as `.`);
 *   - anything but printable ASCII (Node's parser already refuses raw bytes ≥ 0x80).
 */
export function isSafePath(url: string): boolean {
  if (url.charCodeAt(0) !== 47 /* / */) return false;
  let encoded = false;
  let dots = 0; // dots since the last '/', or -1 once the segment has another character
  for (let i = 1; i <= url.length; i++) {
    const c = i < url.length ? url.charCodeAt(i) : 47;
    if (c === 63 /* ? */) return !isDotSegment(dots) && (!encoded || decodedSafe(url.slice(0, i)));
    if (c === 47) {
      if (isDotSegment(dots)) return false;
      dots = 0;
      continue;
    }
    if (c <= 32 || c >= 127 || c === 92 /* \ */ || c === 59 /* ; */) return false;
    if (c === 37 /* % */) encoded = true;
    dots = c === 46 /* . */ && dots >= 0 ? dots + 1 : -1;
  }
  return !encoded || decodedSafe(url);
}

function isDotSegment(dots: number): boolean {
  return dots === 1 || dots === 2;
}

/** The percent-encoded path, segment by segment, decoded: no dot segment, no hidden separator. */
function decodedSafe(path: string): boolean {
  for (const raw of path.split('/')) {
    if (!raw.includes('%')) continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return false; // malformed, or not UTF-8 (overlong forms included)
    }
    if (seg === '.' || seg === '..') return false;
    for (let i = 0; i < seg.length; i++) {
      const c = seg.charCodeAt(i);
      if (c < 32 || c === 127 || c === 47 || c === 92 || c === 59) return false;
    }
  }
  return true;
}
