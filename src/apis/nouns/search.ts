/**
 * "Search" mode: do given names occur in a text, and where? Matching is word-based and
 * forgiving of case and accents: the text and each name are cut into words (runs of
 * letters, marks and digits), each word folded (NFKD, marks removed, lower-case), and a
 * name matches a run of consecutive words separated only by spaces, hyphens, apostrophes
 * or dots ("jose  martinez" matches "José Martínez", "Obama" matches "Obama's" but not
 * "Obamacare"). Offsets are UTF-16 indices into the original text. Each hit also says which
 * proper noun, if any, it falls inside, so callers can tell "Paris" the city from "Paris"
 * the first name.
 */
import { findSpans, type NounType, type Offset } from './extract.js';

export interface NameHit extends Offset {
  /** Type of the proper noun the hit lies in, or null when the NLP did not tag it. */
  type: NounType | null;
}

export interface NameResult {
  name: string;
  found: boolean;
  count: number;
  offsets: NameHit[];
}

interface Word extends Offset {
  folded: string;
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const JOINER = /^[\s\-‐‑'’.]{1,3}$/u;

export function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(WORD)) {
    out.push({ start: m.index, end: m.index + m[0].length, folded: fold(m[0]) });
  }
  return out;
}

export function searchNames(text: string, names: readonly string[]): NameResult[] {
  const textWords = words(text);
  const spans = findSpans(text);
  return names.map((name) => {
    const query = words(name).map((w) => w.folded);
    const hits: NameHit[] = [];
    if (query.length > 0) {
      for (let i = 0; i + query.length <= textWords.length; i++) {
        if (!matchesAt(text, textWords, i, query)) continue;
        const start = textWords[i]!.start;
        const end = textWords[i + query.length - 1]!.end;
        const span = spans.find((s) => s.start <= start && end <= s.end);
        hits.push({ start, end, type: span?.type ?? null });
      }
    }
    return { name, found: hits.length > 0, count: hits.length, offsets: hits };
  });
}

function matchesAt(text: string, ws: Word[], i: number, query: string[]): boolean {
  for (let k = 0; k < query.length; k++) {
    const w = ws[i + k]!;
    if (w.folded !== query[k]) return false;
    if (k > 0 && !JOINER.test(text.slice(ws[i + k - 1]!.end, w.start))) return false;
  }
  return true;
}
