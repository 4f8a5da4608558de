/**
 * The examples in README.md and docs/*.md as the docs test runs them.
 *
 * A fenced block in `sh`/`bash` is run; a block in a programming language (`ts`, `js`,
 * `python`) is an example too and must be runnable or say why not. Either kind can be
 * marked, on the line before the fence, with `<!-- not-run: reason -->`: it is counted and
 * reported, never run. Other fences (`json`, `yaml`, plain) show data or output.
 *
 * A block is split into commands: a line, plus its `\` continuations and any lines inside an
 * open quote (a JSON body over several lines). A comment after a command — on its last line
 * or the comment lines right below it — that starts with a status (`# 200`, `# → 201 {…}`)
 * or names statuses in the plural (`# 200s and some 429s`) is what the command's HTTP calls
 * must answer: every status seen is one of them, and each of them is seen. A here-document
 * (`-d @- <<JSON` … `JSON`) belongs to the command that opens it.
 */

export interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
  /** The reason given in `<!-- not-run: reason -->`, or null when the block runs. */
  notRun: string | null;
}

export interface Command {
  /** 1-based line in the markdown file where the command starts. */
  line: number;
  /** What is run: the command without its trailing comment. */
  code: string;
  /** The statuses its comment documents (empty: any 2xx). */
  expect: number[];
  /** Started in the background (`… &`): the runner waits until it says it is listening. */
  background: boolean;
}

const RUN_LANGS = new Set(['sh', 'bash', 'shell']);
const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'python', 'py']);

export function isRunnable(lang: string): boolean {
  return RUN_LANGS.has(lang);
}

export function isExample(lang: string): boolean {
  return RUN_LANGS.has(lang) || CODE_LANGS.has(lang);
}

export function blocksOf(file: string, markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ''); i++)
      body.push((lines[i] ?? '').slice(indent));
    let before = start - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--;
    const marker = /^\s*<!--\s*not-run:\s*(.+?)\s*-->\s*$/.exec(lines[before] ?? '');
    blocks.push({
      file,
      line: start + 1,
      lang: open[2] ?? '',
      text: body.join('\n'),
      notRun: marker?.[1] ?? null,
    });
  }
  return blocks;
}

/** Where a `#` comment starts on a line, given the quote open at its start; and the quote open at its end. */
function scan(line: string, quote: string | null): { comment: number; quote: string | null } {
  let q = quote;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q === "'") {
      if (c === "'") q = null;
    } else if (q === '"') {
      if (c === '\\') i++;
      else if (c === '"') q = null;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return { comment: i, quote: q };
  }
  return { comment: -1, quote: q };
}

export function expectedStatuses(comment: string): number[] {
  const text = comment.replace(/^#\s*(→\s*)?/, '');
  const found = new Set<number>();
  const first = /^([1-5]\d\d)\b/.exec(text);
  if (first) found.add(Number(first[1]));
  for (const m of text.matchAll(/\b([1-5]\d\d)s\b/g)) found.add(Number(m[1]));
  return [...found];
}

export function commandsOf(block: Block): Command[] {
  const lines = block.text.split('\n');
  const commands: Command[] = [];
  let current: { line: number; code: string[]; comment: string; closed: boolean } | null = null;
  let quote: string | null = null;
  const finish = () => {
    if (!current) return;
    const code = current.code.join('\n').trimEnd();
    commands.push({
      line: current.line,
      code,
      expect: expectedStatuses(current.comment),
      background: /(^|[^&])&$/.test(code),
    });
    current = null;
  };
  let heredoc: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (current && heredoc !== null) {
      // A here-document's lines are data, taken as they are up to the terminator.
      current.code.push(raw);
      if (raw.trim() === heredoc) {
        heredoc = null;
        current.closed = true;
      }
      continue;
    }
    const { comment, quote: after } = scan(raw, quote);
    const code = comment >= 0 ? raw.slice(0, comment).trimEnd() : raw;
    const note = comment >= 0 ? raw.slice(comment).trim() : '';
    if (current?.closed) {
      // A comment line right below a command documents its answer (`# → 201 {…}`).
      if (code.trim() === '' && /^#\s*→/.test(note)) {
        current.comment ||= note;
        continue;
      }
      finish();
    }
    if (!current && code.trim() === '') continue;
    if (!current) current = { line: block.line + 1 + i, code: [], comment: '', closed: false };
    current.code.push(code);
    quote = after;
    if (quote === null && !/\\$/.test(code)) {
      if (note) current.comment = note;
      heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(code)?.[1] ?? null;
      current.closed = heredoc === null;
    }
  }
  finish();
  return commands;
}
