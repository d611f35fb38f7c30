import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

// The same folder whether this runs from source (gateway/http) or from the build (dist/gateway/http).
const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/dist\/$/, '/');
export const WEB_DIST_DIR = path.join(repoRoot, 'web', 'dist');

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>sandpod</title></head>
<body>
<h1>sandpod</h1>
<p>The web page is not built. Run <code>make build</code> (or <code>make run</code>) to build it.</p>
<p>The REST API is at <code>/api/v1</code>; see <code>/api/v1/runtimes</code>.</p>
</body>
</html>
`;

/** Serves the web bundle, or a page saying it is not built; looked up per request so a later build shows. */
export function webPage(dir: string = WEB_DIST_DIR): Router {
  const router = Router();
  router.use(express.static(dir, { index: 'index.html', fallthrough: true }));
  router.get(['/', '/index.html'], (_req, res) => {
    if (existsSync(path.join(dir, 'index.html'))) {
      res.sendFile(path.join(dir, 'index.html'));
      return;
    }
    res.type('html').send(NOT_BUILT_PAGE);
  });
  return router;
}
