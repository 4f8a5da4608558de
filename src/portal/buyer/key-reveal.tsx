/** The one moment a key's value is shown: with a copy button and a plain warning. */
export function KeyReveal(p: { value: string; heading: string; next: string; example?: string | undefined }) {
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
      <p>
        Send it in the <code>x-api-key</code> header of each request, for example:
      </p>
      <pre class="card mono">{`curl -H "x-api-key: $TOLLGATE_KEY" ${p.example ?? 'https://<gateway>/…'}`}</pre>
      <p>
        <a class="button" href={p.next}>
          I have saved it
        </a>
      </p>
    </section>
  );
}
