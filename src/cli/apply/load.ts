/**
 * Reads `tollgate.yaml` (YAML or JSON) and validates it as a whole before anything is sent:
 * every fault is reported with its place in the file (`tollgate.yaml:12:7 plans[0].quota.limit:
 * …`), so a bad file changes nothing.
 */
import { readFileSync } from 'node:fs';
import { isMap, isNode, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { fieldPath } from '../../catalog/index.js';
import { fileSchema, type TollgateFile } from './schema.js';

export interface FileFault {
  /** `file:line:column` of the faulty value (or of its parent when the value is missing). */
  at: string;
  field: string;
  message: string;
}

export class InvalidFileError extends Error {
  override name = 'InvalidFileError';
  constructor(readonly faults: FileFault[]) {
    super(`invalid file:\n${faults.map((f) => `  ${f.at} ${f.field}: ${f.message}`).join('\n')}`);
  }
}

export function loadFile(path: string): TollgateFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidFileError([{ at: path, field: '(file)', message: (err as Error).message }]);
  }
  return parseFile(text, path);
}

export function parseFile(text: string, name = 'tollgate.yaml'): TollgateFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${name}:${line}:${col}`;
  };
  if (doc.errors.length > 0)
    throw new InvalidFileError(
      doc.errors.map((e) => ({
        at: where(e.pos[0]),
        field: '(yaml)',
        message: e.message.split('\n')[0] ?? '',
      })),
    );
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new InvalidFileError(faults(parsed.error, doc, where));
}

function faults(
  error: z.ZodError,
  doc: ReturnType<typeof parseDocument>,
  where: (o: number) => string,
): FileFault[] {
  const out: FileFault[] = [];
  for (const issue of error.issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({
          at: where(offsetOf(doc, [...path, key], true)),
          field: fieldPath([...path, key]),
          message: 'unknown field',
        });
    } else {
      out.push({
        at: where(offsetOf(doc, path, false)),
        field: fieldPath(path) || '(file)',
        message: issue.message,
      });
    }
  }
  return out;
}

/** The start of the deepest node on `path` that exists (a key's own position when `key`). */
function offsetOf(doc: ReturnType<typeof parseDocument>, path: PropertyKey[], key: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isNode(p.key) ? (p.key as { value?: unknown }).value : p.key) === step,
      );
      if (!pair) break;
      if (key && step === path[path.length - 1]) return rangeStart(pair.key) ?? offset ?? 0;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step];
    } else break;
    offset = rangeStart(node) ?? offset;
  }
  return offset ?? 0;
}

const rangeStart = (n: unknown): number | undefined => (isNode(n) && n.range ? n.range[0] : undefined);
