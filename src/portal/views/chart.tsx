/**
 * Bar charts as inline SVG, drawn on the server: no chart library, no script, readable
 * without CSS. Each bar carries a <title> (hover text) and the chart a text alternative;
 * the numbers are also in a table under it.
 */

export interface Bar {
  label: string;
  value: number;
}

const W = 640;
const H = 200;
const PAD_L = 48;
const PAD_B = 28;
const PAD_T = 12;

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (n: number) =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${+(n / 1e3).toFixed(1)}k` : String(n);

export function BarChart(p: {
  title: string;
  unit: string;
  bars: Bar[];
  id: string;
  /** Axis text of a bar's label (default: MM-DD of an ISO day). */
  tick?: (label: string) => string;
}) {
  const tick = p.tick ?? ((l: string) => l.slice(5));
  const max = niceMax(Math.max(0, ...p.bars.map((b) => b.value)));
  const n = Math.max(1, p.bars.length);
  const slot = (W - PAD_L - 8) / n;
  const bw = Math.min(56, Math.max(2, slot * 0.7));
  const plotH = H - PAD_B - PAD_T;
  const total = p.bars.reduce((s, b) => s + b.value, 0);
  const every = Math.ceil(n / 10);
  return (
    <figure class="chart" id={p.id}>
      <figcaption>
        {p.title}{' '}
        <span class="muted">
          — {total.toLocaleString('en-US')} {p.unit} in total
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${p.title}: ${total} ${p.unit} over ${p.bars.length} days`}
        preserveAspectRatio="xMidYMid meet"
      >
        {[0, 0.5, 1].map((f) => {
          const y = PAD_T + plotH * (1 - f);
          return (
            <g>
              <line x1={PAD_L} x2={W - 4} y1={y} y2={y} class="grid" />
              <text x={PAD_L - 6} y={y + 4} text-anchor="end" class="axis">
                {fmt(max * f)}
              </text>
            </g>
          );
        })}
        {p.bars.map((b, i) => {
          const h = (b.value / max) * plotH;
          const x = PAD_L + i * slot + (slot - bw) / 2;
          return (
            <g>
              <rect
                x={x.toFixed(1)}
                y={(PAD_T + plotH - h).toFixed(1)}
                width={bw.toFixed(1)}
                height={Math.max(0, h).toFixed(1)}
                class="bar"
                data-value={b.value}
                data-label={b.label}
              >
                <title>{`${b.label}: ${b.value.toLocaleString('en-US')} ${p.unit}`}</title>
              </rect>
              {i % every === 0 ? (
                <text x={(x + bw / 2).toFixed(1)} y={H - 8} text-anchor="middle" class="axis">
                  {tick(b.label)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** A horizontal meter (quota used), as SVG. */
export function Meter(p: { used: number; limit: number; label: string }) {
  const f = p.limit > 0 ? Math.min(1, p.used / p.limit) : 0;
  return (
    <svg viewBox="0 0 300 14" class="meter" role="img" aria-label={p.label}>
      <rect x="0" y="0" width="300" height="14" rx="3" class="meter-bg" />
      <rect
        x="0"
        y="0"
        width={(300 * f).toFixed(1)}
        height="14"
        rx="3"
        class={f >= 0.9 ? 'meter-hot' : 'meter-fg'}
      />
    </svg>
  );
}
