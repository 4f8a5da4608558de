/** The first call in three languages (see ../examples.ts), as copyable code blocks. */
import { curlSnippet, type FirstCall, fetchSnippet, pythonSnippet } from '../examples.js';

export function FirstCallExamples(p: { call: FirstCall; keyValue?: string; id: string }) {
  const blocks: Array<[string, string, string]> = [
    ['curl', 'shell', curlSnippet(p.call, p.keyValue)],
    ['JavaScript (fetch)', 'js', fetchSnippet(p.call, p.keyValue)],
    ['Python (requests)', 'python', pythonSnippet(p.call, p.keyValue)],
  ];
  return (
    <div class="examples">
      {p.call.summary ? (
        <p>
          <code>
            {p.call.method} {new URL(p.call.url).pathname}
          </code>{' '}
          — {p.call.summary}
        </p>
      ) : null}
      {blocks.map(([label, lang, code], i) => (
        <figure class="example">
          <figcaption>
            {label}{' '}
            <button type="button" class="secondary small" data-copy={`${p.id}-${i}`} hidden>
              Copy
            </button>
          </figcaption>
          <pre class="card mono" id={`${p.id}-${i}`} data-lang={lang}>
            {code}
          </pre>
        </figure>
      ))}
    </div>
  );
}
