/**
 * Validation messages in a form's words. The services validate with zod and answer in its
 * terms ("Too small: expected string to have >=1 characters", `planIds`); a form shows the
 * same rule as a person would say it, under the label the field has on the page, in the
 * order the fields appear.
 */

const RULES: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^Too small: expected string to have >=?1 characters?$/, () => 'enter a value'],
  [/^Invalid input: expected \w+, received undefined$/, () => 'enter a value'],
  [/^Too small: expected string to have >=(\d+) characters?$/, (m) => `use at least ${m[1]} characters`],
  [/^Too big: expected string to have <=(\d+) characters?$/, (m) => `use at most ${m[1]} characters`],
  [/^Too small: expected array to have >=1 items?$/, () => 'choose at least one'],
  [/^Too big: expected array to have <=(\d+) items?$/, (m) => `choose at most ${m[1]}`],
  [/^Too small: expected number to be >=(-?[\d.]+)$/, (m) => `enter ${m[1]} or more`],
  [/^Too small: expected number to be >(-?[\d.]+)$/, (m) => `enter a number above ${m[1]}`],
  [/^Too big: expected number to be <=(-?[\d.]+)$/, (m) => `enter ${m[1]} or less`],
  [/^Too big: expected number to be <(-?[\d.]+)$/, (m) => `enter a number below ${m[1]}`],
  [/^(Invalid input: )?expected number, received \w+$/, () => 'enter a number'],
  [/^(Invalid input: )?expected int, received number$/, () => 'enter a whole number'],
  [/^Invalid input: expected boolean.*$/, () => 'choose yes or no'],
  [
    /^Invalid option: expected one of (.+)$/,
    (m) => `choose one of ${m[1]!.replaceAll('"', '').split('|').join(', ')}`,
  ],
  [/^Invalid (URL|url)$/, () => 'enter a full address such as https://api.example.com'],
  [/^Invalid string: must match pattern .*$/, () => 'not in the expected format'],
];

/** One message in plain words; a message already written for people passes unchanged. */
export function plainMessage(message: string): string {
  for (const [pattern, say] of RULES) {
    const m = pattern.exec(message);
    if (m) return say(m);
  }
  return message;
}

/** A label for a field the form did not name: `planIds` → "Plans", `upstreamUrl` → "Upstream URL". */
export function fallbackLabel(field: string): string {
  const words = field
    .replace(/\[(\d+)\]/g, (_, i: string) => ` ${Number(i) + 1}`)
    .replace(/Ids$/, 's')
    .replace(/Id$/, '')
    .replace(/\./g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/\burl\b/g, 'URL')
    .replace(/\bapis?\b/g, (w) => w.toUpperCase().replace('APIS', 'APIs'));
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Errors in the order of the form's fields (`order`, the field names top to bottom); the rest after. */
export function inFormOrder<T>(entries: Array<[string, T]>, order: string[]): Array<[string, T]> {
  const rank = (f: string) => {
    const exact = order.indexOf(f);
    if (exact >= 0) return exact;
    // `routes[2].units` sorts with `routes`, then by its own position.
    const base = order.findIndex((o) => f.startsWith(`${o}[`) || f.startsWith(`${o}.`));
    return base >= 0 ? base + 0.5 : order.length;
  };
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e[0]) - rank(b.e[0]) || a.i - b.i)
    .map((x) => x.e);
}
