/**
 * Proper nouns: quality on the labelled sample (floors the library meets, numbers printed),
 * offsets that slice back exactly (also past emoji and accents), grouping, filters, search.
 */
import { describe, expect, it } from 'vitest';
import { extractNouns, searchNames } from '../../src/apis/index.js';
import { NOUNS_HELDOUT, NOUNS_SAMPLE } from './nouns-sample.js';
import { scoreSample } from './nouns-score.js';

const predict = (text: string): Array<[string, string]> =>
  extractNouns(text).flatMap((n) =>
    n.offsets.map((o): [string, string] => [text.slice(o.start, o.end), n.type]),
  );

describe('proper nouns: quality on the labelled sample', () => {
  it(`meets the precision/recall floors on ${NOUNS_SAMPLE.length} sentences`, () => {
    const { typed, spans } = scoreSample(predict);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(
      `nouns sample: typed P ${pct(typed.precision)} R ${pct(typed.recall)} (tp ${typed.tp}, fp ${typed.fp}, fn ${typed.fn}); ` +
        `spans P ${pct(spans.precision)} R ${pct(spans.recall)}`,
    );
    expect(NOUNS_SAMPLE.length).toBeGreaterThanOrEqual(40);
    expect(typed.precision).toBeGreaterThanOrEqual(0.78);
    expect(typed.recall).toBeGreaterThanOrEqual(0.75);
    expect(spans.precision).toBeGreaterThanOrEqual(0.93);
    expect(spans.recall).toBeGreaterThanOrEqual(0.9);
  });

  it(`meets lower floors on ${NOUNS_HELDOUT.length} held-out sentences never used for tuning`, () => {
    const { typed, spans } = scoreSample(predict, NOUNS_HELDOUT);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(
      `nouns held-out: typed P ${pct(typed.precision)} R ${pct(typed.recall)} (tp ${typed.tp}, fp ${typed.fp}, fn ${typed.fn}); ` +
        `spans P ${pct(spans.precision)} R ${pct(spans.recall)}`,
    );
    expect(typed.precision).toBeGreaterThanOrEqual(0.7);
    expect(typed.recall).toBeGreaterThanOrEqual(0.7);
    expect(spans.precision).toBeGreaterThanOrEqual(0.8);
    expect(spans.recall).toBeGreaterThanOrEqual(0.82);
  });

  it('every offset slices back to the reported text across the whole sample', () => {
    for (const { text } of [...NOUNS_SAMPLE, ...NOUNS_HELDOUT]) {
      for (const noun of extractNouns(text)) {
        expect(noun.count).toBe(noun.offsets.length);
        for (const o of noun.offsets) {
          const slice = text.slice(o.start, o.end);
          expect(slice.trim()).toBe(slice);
          expect(
            slice
              .normalize('NFKD')
              .replace(/\p{M}/gu, '')
              .toLowerCase()
              .replace(/['’]s$/u, ''),
          ).toBe(noun.normalized);
        }
        expect(text.slice(noun.offsets[0]!.start, noun.offsets[0]!.end)).toBe(noun.text);
      }
    }
  });
});

describe('proper nouns: Unicode and offsets', () => {
  const text =
    '😀🎉 José Martínez met Angela Merkel in Zürich. 👩‍💻 Later, Angela Merkel’s aide called Microsoft from Paris, France.';

  it('gives UTF-16 offsets that slice back exactly after emoji, ZWJ sequences and accents', () => {
    const nouns = extractNouns(text);
    const byText = new Map(nouns.map((n) => [n.normalized, n]));
    const jose = byText.get('jose martinez')!;
    expect(jose).toMatchObject({ text: 'José Martínez', type: 'person', count: 1 });
    expect(jose.offsets).toEqual([
      { start: text.indexOf('José'), end: text.indexOf('José') + 'José Martínez'.length },
    ]);
    expect(jose.offsets[0]!.start).toBe(5); // two surrogate pairs + a space

    const merkel = byText.get('angela merkel')!;
    expect(merkel.count).toBe(2);
    expect(merkel.offsets.map((o) => text.slice(o.start, o.end))).toEqual(['Angela Merkel', 'Angela Merkel']);
    expect(byText.get('zurich')).toMatchObject({ text: 'Zürich', type: 'place' });
    expect(byText.get('microsoft')?.type).toBe('organisation');
    expect(byText.get('paris')?.type).toBe('place');
    expect(byText.get('france')?.type).toBe('place');
    for (const n of nouns) for (const o of n.offsets) expect(text.slice(o.start, o.end)).toBe(n.text);
  });

  it('handles decomposed accents (NFD) without shifting offsets', () => {
    const nfd = 'We met José Martínez in Berlin.'.normalize('NFD');
    const nouns = extractNouns(nfd);
    for (const n of nouns) for (const o of n.offsets) expect(nfd.slice(o.start, o.end)).toBe(n.text);
    expect(nouns.find((n) => n.type === 'place')?.text).toBe('Berlin');
  });

  it('filters by type', () => {
    const places = extractNouns(text, ['place']);
    expect(places.map((n) => n.normalized).sort()).toEqual(['france', 'paris', 'zurich']);
    expect(extractNouns(text, ['person', 'organisation']).every((n) => n.type !== 'place')).toBe(true);
  });
});

describe('proper nouns: search mode', () => {
  const text =
    'José Martínez thanked Obama. Obama’s library opens soon; Obamacare is another story. MARTINEZ left.';

  it('answers whether and where each name occurs, ignoring case and accents, on word boundaries', () => {
    const [jose, obama, nobody, martinez] = searchNames(text, [
      'Jose  Martinez',
      'obama',
      'Nobody',
      'Martínez',
    ]);
    expect(jose).toMatchObject({ found: true, count: 1 });
    expect(text.slice(jose!.offsets[0]!.start, jose!.offsets[0]!.end)).toBe('José Martínez');
    expect(jose!.offsets[0]!.type).toBe('person');
    expect(obama!.count).toBe(2); // "Obama" and "Obama’s", not "Obamacare"
    expect(obama!.offsets.map((o) => text.slice(o.start, o.end))).toEqual(['Obama', 'Obama']);
    expect(nobody).toEqual({ name: 'Nobody', found: false, count: 0, offsets: [] });
    expect(martinez!.offsets.map((o) => text.slice(o.start, o.end))).toEqual(['Martínez', 'MARTINEZ']);
  });

  it('finds names after emoji with exact offsets', () => {
    const t = '🚀🚀 Zoë Ball and 🧑🏽‍🚀 Zoe Ball';
    const [zoe] = searchNames(t, ['zoe ball']);
    expect(zoe!.offsets.map((o) => t.slice(o.start, o.end))).toEqual(['Zoë Ball', 'Zoe Ball']);
  });
});
