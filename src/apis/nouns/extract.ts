/**
 * Proper-noun extraction with `compromise` (rule- and lexicon-based English NLP, offline,
 * no model download). compromise tags terms (Person, Place, Organization, ProperNoun…) and
 * reports each term's offset as a UTF-16 code-unit index into the input — the same unit as
 * JavaScript string indices — so spans slice back exactly, emoji and accents included.
 *
 * Spans: each of compromise's people()/organizations()/places() matches is cut at
 * punctuation between terms ("Paris, France" → two places), leading honorifics ("Dr.",
 * "President") and a trailing possessive ('s) are dropped. Terms tagged ProperNoun that no
 * typed span covers, and that are not dates or numbers, form "other" spans. A term claimed
 * by two views goes to the first of person, organisation, place.
 *
 * Entities group by (type, normalised form): NFKD without combining marks, lower-case,
 * single spaces — so "José" and "Jose" count together. Work is linear in the text length;
 * the caller caps the length (compromise runs on the event loop).
 */
import nlp from 'compromise';

export type NounType = 'person' | 'place' | 'organisation' | 'other';
export const NOUN_TYPES: readonly NounType[] = ['person', 'place', 'organisation', 'other'];

export interface Offset {
  start: number;
  end: number;
}

export interface Noun {
  text: string;
  normalized: string;
  type: NounType;
  offsets: Offset[];
  count: number;
}

interface TermJson {
  text: string;
  pre: string;
  post: string;
  tags: string[];
  offset: { start: number; length: number };
}

interface Span extends Offset {
  type: NounType;
}

const HONORIFIC = /^(dr|mr|mrs|ms|mx|prof|sir|dame|rev|hon|gen|col|capt|lt|sgt|st)\.?$/iu;
const SKIP_TAGS = new Set(['Date', 'WeekDay', 'Month', 'Value', 'Pronoun', 'Holiday']);

/** All proper nouns in `text`, in order of first appearance; `types` filters. */
export function extractNouns(text: string, types: readonly NounType[] = NOUN_TYPES): Noun[] {
  const spans = findSpans(text);
  const wanted = new Set(types);
  const groups = new Map<string, Noun>();
  for (const span of spans) {
    if (!wanted.has(span.type)) continue;
    const surface = text.slice(span.start, span.end);
    const normalized = normalize(surface);
    if (normalized === '') continue;
    const key = `${span.type}\u0000${normalized}`;
    let noun = groups.get(key);
    if (!noun) {
      noun = { text: surface, normalized, type: span.type, offsets: [], count: 0 };
      groups.set(key, noun);
    }
    noun.offsets.push({ start: span.start, end: span.end });
    noun.count += 1;
  }
  return [...groups.values()];
}

/** Typed, non-overlapping spans sorted by start. */
export function findSpans(text: string): Span[] {
  const doc = nlp(text);
  // Terms with offsets once for the whole document; views are read as pointers into it
  // ([sentence, firstTerm, endTerm]) — view.json({offset}) recomputes offsets per view and
  // is superlinear on long texts.
  const sentences = doc.json({ offset: true }) as Array<{ terms: TermJson[] }>;
  const termsAt = (pointer: unknown): TermJson[] => {
    const [n, from, to] = pointer as [number, number, number];
    return sentences[n]?.terms.slice(from, to) ?? [];
  };
  const pointers = (view: { fullPointer: unknown }): unknown[] => view.fullPointer as unknown[];
  const claimed = new Set<number>(); // term start offsets already in a span
  const spans: Span[] = [];
  const views: Array<[NounType, { fullPointer: unknown }]> = [
    ['person', doc.people()],
    ['organisation', doc.organizations()],
    ['place', doc.places()],
  ];
  for (const [type, view] of views) {
    for (const pointer of pointers(view)) {
      for (const run of splitRuns(text, termsAt(pointer))) addSpan(text, run, type, claimed, spans);
    }
  }
  for (const pointer of pointers(doc.match('#ProperNoun+'))) {
    const terms = termsAt(pointer).filter((t) => !t.tags.some((tag) => SKIP_TAGS.has(tag)));
    for (const run of splitRuns(text, terms)) {
      // Only the part no typed span claimed.
      let current: TermJson[] = [];
      for (const t of run) {
        if (claimed.has(termStart(text, t))) {
          addSpan(text, current, 'other', claimed, spans);
          current = [];
        } else current.push(t);
      }
      addSpan(text, current, 'other', claimed, spans);
    }
  }
  return mergeAdjacent(
    text,
    spans.sort((a, b) => a.start - b.start),
  );
}

/**
 * compromise often knows only one word of a name ("Taylor" of "Taylor Swift"): a typed
 * span and an untyped proper noun directly next to it (one space apart) become one span.
 */
function mergeAdjacent(text: string, spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const span of spans) {
    const prev = out[out.length - 1];
    if (
      prev &&
      /^ $/u.test(text.slice(prev.end, span.start)) &&
      (prev.type === 'other') !== (span.type === 'other')
    ) {
      prev.end = span.end;
      if (prev.type === 'other') prev.type = span.type;
      continue;
    }
    out.push({ ...span });
  }
  return out;
}

/** Split a match into runs of adjacent terms separated by whitespace only. */
function splitRuns(text: string, terms: TermJson[]): TermJson[][] {
  const runs: TermJson[][] = [];
  let run: TermJson[] = [];
  let prev: TermJson | null = null;
  for (const t of terms) {
    const adjacent =
      prev !== null &&
      /^\s*$/u.test(text.slice(termEnd(text, prev), termStart(text, t))) &&
      !/[^\s]/u.test(prev.post.replace(/\s/gu, '').replace(/['’]s?$/u, ''));
    if (!adjacent && run.length > 0) {
      runs.push(run);
      run = [];
    }
    run.push(t);
    prev = t;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function addSpan(text: string, run: TermJson[], type: NounType, claimed: Set<number>, spans: Span[]): void {
  let terms = run;
  while (terms.length > 0 && (terms[0]!.tags.includes('Honorific') || HONORIFIC.test(terms[0]!.text))) {
    terms = terms.slice(1);
  }
  while (terms.length > 0 && !/\p{Lu}|\p{Lt}|\p{N}/u.test(terms[0]!.text)) terms = terms.slice(1);
  if (terms.length === 0) return;
  if (terms.some((t) => claimed.has(termStart(text, t)))) return;
  const start = termStart(text, terms[0]!);
  let end = termEnd(text, terms[terms.length - 1]!);
  const possessive = /['’]s?$/u.exec(text.slice(start, end));
  if (possessive && end - possessive[0].length > start) end -= possessive[0].length;
  // Trailing punctuation that compromise kept inside a term ("U.S." keeps its dots).
  while (end > start && /[,;:!?)\]}"”]/u.test(text[end - 1]!)) end -= 1;
  if (end <= start) return;
  for (const t of terms) claimed.add(termStart(text, t));
  spans.push({ start, end, type });
}

function termStart(_text: string, t: TermJson): number {
  return t.offset.start;
}

function termEnd(_text: string, t: TermJson): number {
  return t.offset.start + t.offset.length;
}

/** Accent- and case-insensitive form with single spaces; used for grouping and search. */
export function normalize(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’]s$/u, '')
    .replace(/\s+/gu, ' ')
    .trim();
}
