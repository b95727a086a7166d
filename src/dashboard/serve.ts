import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The pages carry no data: every figure on them comes from the API with the caller's token. */
const HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The dashboard's static files: courier's own pages, and the one vendor module (htm + preact) from node_modules. */
function staticFiles(): Map<string, string> {
  const root = path.join(__dirname, 'public');
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (TYPES[path.extname(entry.name)]) files.set(`/ui/${path.relative(root, full).split(path.sep).join('/')}`, full);
    }
  };
  walk(root);
  // The browser build of htm's standalone Preact; the package exports it to bundlers only, so it is found beside the main entry (dist/htm.js).
  files.set('/ui/vendor/htm-preact.js', path.join(path.dirname(require.resolve('htm')), '..', 'preact', 'standalone.module.js'));
  return files;
}

/** Paths the auth hook lets through: static pages that ask the API (with a token) for everything they show. */
export const isDashboardAsset = (url: string) => url === '/' || url.startsWith('/ui/');

/** Serves the operator's dashboard at `/`: the same process and API, no second server. */
export function registerDashboard(app: FastifyInstance): void {
  // Listed once at start: only files that were there can be asked for, so no request names a path.
  const files = staticFiles();
  // Each file is read on its first request and kept: the pages do not change while the server runs.
  const bodies = new Map<string, Promise<Buffer>>();
  const serve = async (url: string, reply: FastifyReply) => {
    const file = files.get(url);
    if (!file) return reply.code(404).type('text/plain').send(`no dashboard file ${url}`);
    if (!bodies.has(url)) bodies.set(url, fs.promises.readFile(file));
    return reply
      .headers(HEADERS)
      .type(TYPES[path.extname(file)])
      .send(await bodies.get(url)!);
  };
  app.get('/', (_request, reply) => serve('/ui/index.html', reply));
  app.get('/ui/*', (request, reply) => serve(request.url.split('?')[0], reply));
}
