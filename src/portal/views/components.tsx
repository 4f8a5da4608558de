/** Small form and table pieces shared by the pages. */
import type { Child } from 'hono/jsx';
import type { FieldIssue } from '../../shared/index.js';
import { fallbackLabel, inFormOrder, plainMessage } from './messages.js';

export type Errors = Record<string, string>;

/** The services' field issues as a form shows them: the first per field, in plain words. */
export function errorsOf(issues: FieldIssue[]): Errors {
  const out: Errors = {};
  for (const i of issues) out[i.field] ??= plainMessage(i.message);
  return out;
}

const idOf = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export interface FieldProps {
  label: string;
  name: string;
  type?: string;
  value?: string | number | null;
  errors?: Errors;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  min?: string;
  step?: string;
  inputmode?: 'decimal' | 'numeric' | 'email' | 'text' | 'url';
}

export function Field(p: FieldProps) {
  const id = idOf(p.name);
  const err = p.errors?.[p.name];
  const described =
    [p.hint ? `${id}-hint` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${err ? ' invalid' : ''}`} data-field={p.name}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value == null ? '' : String(p.value)}
        required={p.required}
        autocomplete={p.autocomplete}
        placeholder={p.placeholder}
        min={p.min}
        step={p.step}
        inputmode={p.inputmode}
        aria-invalid={err ? 'true' : undefined}
        aria-describedby={described}
      />
      {p.hint ? (
        <small id={`${id}-hint`} class="hint">
          {p.hint}
        </small>
      ) : null}
      <FieldError id={`${id}-err`} message={err} />
    </div>
  );
}

export function FieldError(p: { id: string; message?: string | undefined }) {
  return (
    <small id={p.id} class="error" data-error-for={p.id}>
      {p.message ?? ''}
    </small>
  );
}

export function TextArea(p: FieldProps & { rows?: number }) {
  const id = idOf(p.name);
  const err = p.errors?.[p.name];
  return (
    <div class={`field${err ? ' invalid' : ''}`} data-field={p.name}>
      <label for={id}>{p.label}</label>
      <textarea
        id={id}
        name={p.name}
        rows={p.rows ?? 6}
        aria-invalid={err ? 'true' : undefined}
        placeholder={p.placeholder}
      >
        {p.value == null ? '' : String(p.value)}
      </textarea>
      {p.hint ? <small class="hint">{p.hint}</small> : null}
      <FieldError id={`${id}-err`} message={err} />
    </div>
  );
}

export function Select(p: {
  label: string;
  name: string;
  value?: string | null;
  options: Array<[string, string]>;
  errors?: Errors;
  hint?: string;
}) {
  const id = idOf(p.name);
  const err = p.errors?.[p.name];
  return (
    <div class={`field${err ? ' invalid' : ''}`} data-field={p.name}>
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} aria-invalid={err ? 'true' : undefined}>
        {p.options.map(([v, l]) => (
          <option value={v} selected={v === (p.value ?? '')}>
            {l}
          </option>
        ))}
      </select>
      {p.hint ? <small class="hint">{p.hint}</small> : null}
      <FieldError id={`${id}-err`} message={err} />
    </div>
  );
}

/** A list of every problem at the top of a form, linking to each field. */
/**
 * The errors above a form, named by the fields' labels and in the fields' order: `labels`
 * lists the form's fields top to bottom (a field it does not list gets a label from its name).
 */
export function ErrorSummary(p: { errors: Errors; labels?: Record<string, string> }) {
  const entries = inFormOrder(Object.entries(p.errors), Object.keys(p.labels ?? {}));
  if (!entries.length) return null;
  return (
    <div class="error-summary" role="alert" tabindex={-1}>
      <h2>Please fix {entries.length === 1 ? 'this' : `these ${entries.length}`} first</h2>
      <ul>
        {entries.map(([f, m]) => (
          <li>
            <a href={`#${idOf(f)}`}>{p.labels?.[f] ?? fallbackLabel(f)}</a>: {m}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Table(p: {
  head: string[];
  children?: Child;
  empty?: string;
  rows: number;
  caption?: string;
  /** Indexes of right-aligned (numeric) columns. */
  numeric?: number[];
}) {
  if (p.rows === 0) return <p class="empty">{p.empty ?? 'Nothing here yet.'}</p>;
  return (
    <div class="table-wrap">
      <table>
        {p.caption ? <caption>{p.caption}</caption> : null}
        <thead>
          <tr>
            {p.head.map((h, i) => (
              <th scope="col" class={p.numeric?.includes(i) ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{p.children}</tbody>
      </table>
    </div>
  );
}

export function Status(p: { value: string }) {
  return <span class={`badge s-${p.value.replace(/[^a-z_]/g, '')}`}>{p.value.replace('_', ' ')}</span>;
}

/** "2026-11-26" from an ISO time. */
export const day = (iso: string | null | undefined): string => (iso ? iso.slice(0, 10) : '—');
