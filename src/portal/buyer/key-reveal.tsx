import type { FirstCall } from '../examples.js';
import { FirstCallExamples } from '../views/examples.js';

/** The one moment a key's value is shown: with a copy button, a plain warning and a first call that works. */
export function KeyReveal(p: { value: string; heading: string; next: string; call?: FirstCall | null }) {
  return (
    <section>
      <h1>{p.heading}</h1>
      <p>
        This is the only time the key is shown. Copy it now and keep it somewhere safe (a secret manager, an
        environment variable). Tollgate keeps only a fingerprint of it.
      </p>
      <div class="secret">
        <output id="key-value" aria-label="Your API key">
          {p.value}
        </output>
        <button type="button" class="secondary" data-copy="key-value" hidden>
          Copy
        </button>
      </div>
      <h2>Your first call</h2>
      {p.call ? (
        <>
          <p>
            Send the key in the <code>x-api-key</code> header of each request:
          </p>
          <FirstCallExamples call={p.call} keyValue={p.value} id="first-call" />
        </>
      ) : (
        <p>
          Send the key in the <code>x-api-key</code> header of each request to the API's gateway address
          (shown in its reference).
        </p>
      )}
      <p>
        <a class="button" href={p.next}>
          I have saved it
        </a>
      </p>
    </section>
  );
}
