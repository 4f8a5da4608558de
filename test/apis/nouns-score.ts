/** Precision/recall of a proper-noun extractor against a labelled sample. */
import { NOUNS_SAMPLE, type SampleSentence } from './nouns-sample.js';

export interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export interface SampleScores {
  /** Span and type must both match. */
  typed: Score;
  /** Span only (was it found as a proper noun at all). */
  spans: Score;
}

/**
 * Micro-averaged precision and recall over every labelled occurrence. A prediction is a
 * (surface text, type) pair per occurrence; matching is multiset matching per sentence.
 */
export function scoreSample(
  predict: (text: string) => Array<[text: string, type: string]>,
  sample: SampleSentence[] = NOUNS_SAMPLE,
): SampleScores {
  const typed = { tp: 0, fp: 0, fn: 0 };
  const spans = { tp: 0, fp: 0, fn: 0 };
  const tally = (acc: { tp: number; fp: number; fn: number }, gold: string[], pred: string[]): void => {
    const left = [...gold];
    for (const p of pred) {
      const i = left.indexOf(p);
      if (i >= 0) {
        left.splice(i, 1);
        acc.tp++;
      } else acc.fp++;
    }
    acc.fn += left.length;
  };
  for (const s of sample) {
    const pred = predict(s.text);
    tally(
      typed,
      s.entities.map(([t, ty]) => `${t}|${ty}`),
      pred.map(([t, ty]) => `${t}|${ty}`),
    );
    tally(
      spans,
      s.entities.map(([t]) => t),
      pred.map(([t]) => t),
    );
  }
  const finish = (a: { tp: number; fp: number; fn: number }): Score => ({
    ...a,
    precision: a.tp / (a.tp + a.fp),
    recall: a.tp / (a.tp + a.fn),
  });
  return { typed: finish(typed), spans: finish(spans) };
}
