/** The portal's one stylesheet (~5 KB): system fonts, readable on a phone, visible focus. */
export const CSS = `
:root{--fg:#1c2430;--muted:#5b6675;--bg:#f6f7f9;--card:#fff;--line:#dde2e8;--accent:#1f5fbf;--accent-fg:#fff;--ok:#1d7a3d;--err:#b3261e;--warn:#8a5a00;--bar:#3f7be0;}
*{box-sizing:border-box}
html{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
.top{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center;padding:10px 20px;background:#14253d;color:#fff}
.top a{color:#fff;text-decoration:none}.top a:hover{text-decoration:underline}
.brand{font-weight:700;font-size:1.15rem;letter-spacing:.02em}
.top nav ul{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;margin:0;padding:0}
.top nav a[aria-current=page]{border-bottom:2px solid #f0b400}
.who{margin-left:auto;font-size:.9rem;overflow-wrap:anywhere;min-width:0}.who .muted{color:#c7d2e0}
main{max-width:980px;margin:0 auto;padding:20px;overflow-wrap:break-word}
.card h2:first-child,.card h1:first-child{margin-top:0}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
main.wide{max-width:1200px}
.foot{text-align:center;padding:24px;font-size:.85rem}
h1{font-size:1.6rem;margin:.2em 0 .6em}h2{font-size:1.2rem;margin:1.4em 0 .5em}
.muted{color:var(--muted)}
.narrow{max-width:460px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:16px}
.cards .card h2{margin-top:0}
form.inline{display:inline}
.field{margin:0 0 14px;display:flex;flex-direction:column;gap:4px}
label{font-weight:600}
input,select,textarea{font:inherit;padding:8px 10px;border:1px solid #9aa6b5;border-radius:6px;background:#fff;color:var(--fg);max-width:100%}
textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}
fieldset{border:1px solid var(--line);border-radius:8px;margin:0 0 16px;padding:12px}
fieldset.field{border:0;padding:0;margin:0 0 14px}fieldset.field legend{padding:0;font-weight:600}
legend{font-weight:700;padding:0 4px}
.choice{font-weight:400;display:block;margin:4px 0}
.hint{color:var(--muted)}
.error{color:var(--err);font-weight:600;min-height:0}
.field.invalid input,.field.invalid select,.field.invalid textarea{border-color:var(--err);border-width:2px}
.error-summary{border:2px solid var(--err);border-radius:8px;padding:8px 16px;margin:0 0 16px;background:#fff5f4}
.error-summary h2{margin:.3em 0;font-size:1.05rem}
button,.button{font:inherit;font-weight:600;padding:8px 16px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--err);border-color:var(--err)}
button.link{background:none;border:0;color:inherit;text-decoration:underline;padding:0;font-weight:400}
.actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.notice{padding:10px 14px;border-radius:6px;border:1px solid var(--line);background:#fff}
.notice.ok{border-color:var(--ok);color:var(--ok)}.notice.error{border-color:var(--err);color:var(--err)}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;padding:8px 10px;font-weight:600}
.empty{color:var(--muted);font-style:italic}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;background:#e6ebf2}
.s-active,.s-published,.s-paid,.s-enabled{background:#dcf2e3;color:var(--ok)}
.s-cancelled,.s-void,.s-disabled{background:#f6dedc;color:var(--err)}
.s-trialing,.s-open,.s-draft,.s-cancel_pending{background:#fff1d0;color:var(--warn)}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.secret{display:flex;flex-wrap:wrap;gap:8px;align-items:center;background:#fff;border:2px dashed var(--accent);border-radius:8px;padding:12px}
.secret output{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;font-size:1rem}
.prose{background:#fff;border:1px solid var(--line);border-radius:8px;padding:4px 16px}
.prose img{max-width:100%}
.chart{margin:0 0 20px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px}
.chart figcaption{font-weight:600;margin-bottom:4px}
.chart svg{width:100%;height:auto}
.chart .bar{fill:var(--bar)}.chart .grid{stroke:#e3e7ec}.chart .axis{font-size:11px;fill:#5b6675}
.meter{width:300px;max-width:100%;height:14px}.meter-bg{fill:#e3e7ec}.meter-fg{fill:var(--ok)}.meter-hot{fill:var(--err)}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:16px}
.charge{border:1px solid var(--line);border-radius:8px;padding:10px;margin:0 0 10px;background:#fbfcfd}
.charge .row{display:flex;flex-wrap:wrap;gap:10px}.charge .row .field{flex:1 1 140px}
.preview{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.search{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 16px;align-items:center}.search input,.search select{flex:1 1 160px;min-width:0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.error-page{background:#fff;border:1px solid var(--line);border-radius:8px;padding:20px}
.examples figure{margin:0 0 12px}.examples figcaption{font-weight:600;margin:0 0 4px;display:flex;gap:8px;align-items:center}
button.small{padding:2px 10px;font-size:.85rem}
.swagger-ui button{font:inherit;font-weight:600;background:transparent;color:#1c2430;border-color:#5b6675;border-radius:4px}
.swagger-ui .btn.execute,.swagger-ui .btn.authorize{color:#14532d;border-color:#1d7a3d}.swagger-ui .btn.execute{background:#1f5fbf;color:#fff;border-color:#1f5fbf}
.swagger-ui .btn.cancel{color:#b3261e;border-color:#b3261e}.swagger-ui .authorization__btn,.swagger-ui .opblock-summary-control,.swagger-ui .model-box-control{border:0}
.swagger-ui .authorization__btn svg,.swagger-ui .authorize svg{fill:currentColor}
@media (max-width:600px){main{padding:12px}.who{margin-left:0}h1{font-size:1.35rem}th,td{padding:6px}}
`;
