/** An invoice's body on a page (lines and total), shared by the buyer's and the provider's views. */
import type { Child } from 'hono/jsx';
import { formatMoney } from '../../billing/index.js';
import { Table } from './components.js';

export interface LineLike {
  description: string;
  quantity: string;
  unitPrice: string | null;
  amount: string;
}

export function InvoiceLines(p: { lines: LineLike[]; currency: string; total: string; totalLabel?: Child }) {
  return (
    <>
      <Table
        head={['Description', 'Quantity', 'Unit price', 'Amount']}
        numeric={[1, 2, 3]}
        rows={p.lines.length}
        empty="No lines."
      >
        {p.lines.map((l) => (
          <tr>
            <td>{l.description}</td>
            <td class="num">{l.quantity}</td>
            <td class="num">{l.unitPrice ?? ''}</td>
            <td class="num">{formatMoney(l.amount, p.currency)}</td>
          </tr>
        ))}
      </Table>
      <p class="total">
        {p.totalLabel ?? 'Total'} <strong>{formatMoney(p.total, p.currency)}</strong>
      </p>
    </>
  );
}
