/**
 * Reads the text of a PDF that Chromium (Skia) printed, as rows of cells, so a test can
 * check what a person reading the document sees. Enough of PDF for Skia's output: objects
 * with Flate streams, Type0 fonts with a ToUnicode CMap (bfchar/bfrange), and text shown
 * with Tj/TJ of hex strings inside BT … ET with a Tm. Each BT block is one run of text
 * (one table cell's line); runs sharing a baseline form a row, left to right.
 */
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream: Buffer | null;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const out = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*([\s\S]*?)endobj/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2]!;
    const s = body.indexOf('stream');
    if (s < 0) {
      out.set(Number(m[1]), { dict: body, stream: null });
      continue;
    }
    const dict = body.slice(0, s);
    let start = m.index + m[0].indexOf(body) + s + 'stream'.length;
    if (text[start] === '\r') start++;
    if (text[start] === '\n') start++;
    const end = text.indexOf('endstream', start);
    const raw = pdf.subarray(start, end);
    let stream: Buffer = raw;
    if (/\/FlateDecode/.test(dict)) {
      try {
        stream = inflateSync(raw);
      } catch {
        stream = raw;
      }
    }
    out.set(Number(m[1]), { dict, stream });
  }
  return out;
}

const ref = (dict: string, key: string): number | null => {
  const m = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(dict);
  return m ? Number(m[1]) : null;
};

/** A ToUnicode CMap → glyph code → text. */
function cmap(src: string): Map<number, string> {
  const map = new Map<number, string>();
  const hex = (h: string) =>
    String.fromCodePoint(...(h.match(/.{1,4}/g) ?? []).map((x) => Number.parseInt(x, 16)));
  for (const block of src.matchAll(/beginbfchar([\s\S]*?)endbfchar/g))
    for (const m of block[1]!.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g))
      map.set(Number.parseInt(m[1]!, 16), hex(m[2]!));
  for (const block of src.matchAll(/beginbfrange([\s\S]*?)endbfrange/g))
    for (const m of block[1]!.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
      const lo = Number.parseInt(m[1]!, 16);
      const hi = Number.parseInt(m[2]!, 16);
      const first = Number.parseInt(m[3]!, 16);
      for (let c = lo; c <= hi; c++) map.set(c, String.fromCodePoint(first + c - lo));
    }
  return map;
}

interface Run {
  x: number;
  y: number;
  text: string;
}

function runsOfPage(content: string, fonts: Map<string, Map<number, string>>): Run[] {
  const runs: Run[] = [];
  let font: Map<number, string> | undefined;
  let current: Run | null = null;
  const show = (hex: string) => {
    if (!current) return;
    for (let i = 0; i + 4 <= hex.length; i += 4)
      current.text += font?.get(Number.parseInt(hex.slice(i, i + 4), 16)) ?? '';
  };
  const re =
    /\/(\S+)\s+[\d.]+\s+Tf|([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+Tm|<([0-9A-Fa-f]*)>\s*Tj|\[([^\]]*)\]\s*TJ|\bBT\b|\bET\b/g;
  for (let m = re.exec(content); m; m = re.exec(content)) {
    const tok = m[0];
    if (m[1] !== undefined) font = fonts.get(m[1]);
    else if (m[2] !== undefined) {
      if (current) {
        current.x = Number(m[6]);
        current.y = Number(m[7]);
      }
    } else if (m[8] !== undefined) show(m[8]);
    else if (m[9] !== undefined) for (const h of m[9].matchAll(/<([0-9A-Fa-f]*)>/g)) show(h[1]!);
    else if (tok === 'BT') current = { x: 0, y: 0, text: '' };
    else if (tok === 'ET' && current) {
      if (current.text.trim()) runs.push(current);
      current = null;
    }
  }
  return runs;
}

/** The document's rows: each an array of cells (text runs on one baseline, left to right). */
export function pdfRows(pdf: Buffer): string[][] {
  const objs = objects(pdf);
  const rows: string[][] = [];
  for (const [, page] of objs) {
    if (!/\/Type\s*\/Page\b/.test(page.dict)) continue;
    const fonts = new Map<string, Map<number, string>>();
    const fontDict = /\/Font\s*<<([\s\S]*?)>>/.exec(page.dict)?.[1] ?? '';
    for (const f of fontDict.matchAll(/\/(\S+)\s+(\d+) 0 R/g)) {
      const font = objs.get(Number(f[2]));
      const uni = font ? ref(font.dict, 'ToUnicode') : null;
      const stream = uni !== null ? objs.get(uni)?.stream : null;
      if (stream) fonts.set(f[1]!, cmap(stream.toString('latin1')));
    }
    const contents = ref(page.dict, 'Contents');
    const content = contents !== null ? objs.get(contents)?.stream : null;
    if (!content) continue;
    const byY = new Map<number, Run[]>();
    for (const r of runsOfPage(content.toString('latin1'), fonts)) {
      const y = Math.round(r.y);
      byY.set(y, [...(byY.get(y) ?? []), r]);
    }
    for (const y of [...byY.keys()].sort((a, b) => a - b))
      rows.push(
        byY
          .get(y)!
          .sort((a, b) => a.x - b.x)
          .map((r) => r.text.trim()),
      );
  }
  return rows;
}
