/**
 * The portal's scripts: progressive enhancement only, every page works without them.
 * - portal.js: copy-to-clipboard buttons (`data-copy="<element id>"`), confirm prompts on
 *   dangerous forms (`data-confirm`).
 * - editor.js: the plan editor validates as you type and previews the price for sample usage
 *   by POSTing the form as JSON to /console/plans/preview (CSRF token in X-CSRF-Token).
 * - docs.js: starts Swagger UI on the element `#swagger` with `data-url`, try-it enabled
 *   against the document's server (the gateway); the key typed into Authorize lives only in
 *   the page (persistAuthorization off: not even localStorage).
 */
export const PORTAL_JS = `
document.addEventListener('click', function (e) {
  var b = e.target.closest && e.target.closest('[data-copy]');
  if (!b) return;
  var el = document.getElementById(b.getAttribute('data-copy'));
  if (!el) return;
  var text = el.textContent.trim();
  var done = function () { b.textContent = 'Copied'; b.setAttribute('data-copied', 'true'); setTimeout(function () { b.textContent = 'Copy'; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () { select(el); });
  else { select(el); try { document.execCommand('copy'); done(); } catch (_) {} }
});
function select(el) { var r = document.createRange(); r.selectNodeContents(el); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }
document.addEventListener('submit', function (e) {
  var m = e.target.getAttribute && e.target.getAttribute('data-confirm');
  if (m && !confirm(m)) e.preventDefault();
});
document.querySelectorAll('[data-copy]').forEach(function (b) { b.hidden = false; });
var summary = document.querySelector('.error-summary'); if (summary) summary.focus();
`;

export const EDITOR_JS = `
(function () {
  var form = document.getElementById('plan-form');
  if (!form) return;
  var out = document.getElementById('price-preview');
  var timer = null;
  function collect() {
    var data = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === 'string') { if (k in data) { data[k] = [].concat(data[k], v); } else data[k] = v; } });
    return data;
  }
  function show(errors) {
    form.querySelectorAll('[data-field]').forEach(function (f) {
      var name = f.getAttribute('data-field');
      var msg = errors[name] || '';
      f.classList.toggle('invalid', !!msg);
      var el = f.querySelector('.error'); if (el) el.textContent = msg;
      var input = f.querySelector('input,select,textarea'); if (input) { if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid'); }
    });
  }
  function run() {
    var data = collect();
    fetch('/console/plans/preview', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': data._csrf || '' }, body: JSON.stringify(data), credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        show(j.errors || {});
        if (!out) return;
        out.textContent = '';
        if (!j.ok) { out.textContent = 'Fix the highlighted fields to see a preview.'; return; }
        var t = document.createElement('table'); var h = t.insertRow(); ['Sample usage', 'Per period'].forEach(function (x) { var th = document.createElement('th'); th.textContent = x; h.appendChild(th); });
        j.samples.forEach(function (s) { var r = t.insertRow(); r.insertCell().textContent = s.label; var c = r.insertCell(); c.textContent = s.total; c.className = 'num'; });
        out.appendChild(t);
      })
      .catch(function () {});
  }
  form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(run, 300); });
  run();
})();
`;

export const DOCS_JS = `
(function () {
  var el = document.getElementById('swagger');
  if (!el || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: el.getAttribute('data-url'), dom_id: '#swagger', deepLinking: false,
    supportedSubmitMethods: ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'],
    persistAuthorization: false, withCredentials: false, displayRequestDuration: true
  });
})();
`;
