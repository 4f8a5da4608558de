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
