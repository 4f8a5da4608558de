/**
 * A loopback site for capture tests: known colour blocks, a tall page, a page that never
 * answers, pages whose script never stops (`while(true){}` inline, or after load), slow pages, redirects to refused addresses, and sub-resources on refused hosts.
 * Records every request (path + Host header) so tests can prove a refused request never left.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Site {
  origin: string;
  port: number;
  hits: Array<{ path: string; host: string }>;
  close(): Promise<void>;
}

const BLOCK_PAGE = `<!doctype html><html><head><style>
  html, body { margin: 0; background: #ffffff; }
  @media (prefers-color-scheme: dark) { html, body { background: #000000; } }
  #red { position: absolute; left: 20px; top: 30px; width: 100px; height: 50px; background: #ff0000; }
  #blue { position: absolute; left: 200px; top: 150px; width: 60px; height: 60px; background: #0000ff; }
</style></head><body><div id="red"></div><div id="blue"></div></body></html>`;

const TALL_PAGE = `<!doctype html><html><head><style>html, body { margin: 0; }
  #top { height: 1000px; background: #00ff00; } #rest { height: 2000px; background: #ff00ff; }
</style></head><body><div id="top"></div><div id="rest"></div></body></html>`;

const SELECTOR_PAGE = `<!doctype html><html><head><style>html, body { margin: 0; background: #fff; }
  #ready { width: 100px; height: 100px; background: #00ff00; }</style></head><body><script>
  setTimeout(() => { const d = document.createElement('div'); d.id = 'ready'; document.body.appendChild(d); }, 300);
</script></body></html>`;

export async function startSite(): Promise<Site> {
  const hits: Site['hits'] = [];
  const hanging = new Set<ServerResponse>();
  let port = 0;
  const html = (res: ServerResponse, body: string): void => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push({ path: url.pathname, host: req.headers.host ?? '' });
    switch (url.pathname) {
      case '/block':
        return html(res, BLOCK_PAGE);
      case '/tall':
        return html(res, TALL_PAGE);
      case '/selector':
        return html(res, SELECTOR_PAGE);
      case '/hang':
        hanging.add(res);
        return;
      case '/spin':
        return html(res, '<!doctype html><body>spinning<script>while (true) {}</script></body>');
      case '/spin-after-load':
        return html(
          res,
          '<!doctype html><body>loaded<script>addEventListener("load", () => setTimeout(() => { while (true) {} }, 0))</script></body>',
        );
      case '/slow':
        setTimeout(() => html(res, BLOCK_PAGE), Number(url.searchParams.get('ms') ?? 1000));
        return;
      case '/redirect': {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/block' });
        return res.end();
      }
      case '/with-refused-subresources':
        return html(
          res,
          `<!doctype html><body style="margin:0;background:#fff">
           <img src="http://[::1]:${port}/pixel">
           <img src="http://127.0.0.2:${port}/pixel">
           <img src="/redirect?to=${encodeURIComponent(`http://127.0.0.2:${port}/pixel`)}">
           <script>fetch('http://0x7f.0.0.2:${port}/pixel').catch(() => {})</script></body>`,
        );
      case '/state': {
        // Green for a fresh visitor; red if any trace of an earlier capture survived.
        const seen = (req.headers.cookie ?? '').includes('srv=1');
        res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'srv=1; Path=/; Max-Age=3600' });
        return res.end(`<!doctype html><body style="margin:0"><script>
          const old = ${seen} || localStorage.getItem('seen') || sessionStorage.getItem('seen') || document.cookie.includes('js=1');
          document.body.style.background = old ? '#ff0000' : '#00ff00';
          localStorage.setItem('seen', '1'); sessionStorage.setItem('seen', '1'); document.cookie = 'js=1; Max-Age=3600';
        </script></body>`);
      }
      case '/noise':
        // Random pixels do not compress: a 400×300 PNG of them is ~480 kB.
        return html(
          res,
          `<!doctype html><body style="margin:0"><canvas id="c" width="400" height="300"></canvas><script>
          const c = document.getElementById('c').getContext('2d'); const img = c.createImageData(400, 300);
          for (let i = 0; i < img.data.length; i++) img.data[i] = Math.random() * 256;
          c.putImageData(img, 0, 0);</script></body>`,
        );
      case '/big':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<!doctype html><body>${'x'.repeat(200_000)}</body>`);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
