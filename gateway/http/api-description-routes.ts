import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { openApiDocument } from '../api-description/openapi-document.js';
import { WEB_DIST_DIR } from './web-page.js';

/** Folder of the API page within the web bundle (web/build.mjs writes it). */
export const API_DOCS_DIR = 'api-docs';

/** GET /openapi.json, without a token: the description tells nothing about any tenant. */
export function openApiRoutes(): Router {
  const router = Router();
  const document = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  return router;
}

/** The readable page of the description, mounted at /api/docs; bundled, so it needs no network. */
export function apiDocsPage(webDir: string = WEB_DIST_DIR): Router {
  const dir = path.join(webDir, API_DOCS_DIR);
  const router = Router();
  // The page's links are relative (so it works behind a path prefix): they need the final slash.
  router.get('/', (req, res, next) => {
    const url = new URL(req.originalUrl, 'http://gateway');
    if (url.pathname.endsWith('/')) return next();
    res.redirect(301, `${path.posix.basename(url.pathname)}/${url.search}`);
  });
  router.use(express.static(dir, { index: 'index.html', redirect: true, fallthrough: true }));
  router.get('/', (_req, res) => {
    if (existsSync(path.join(dir, 'index.html'))) {
      res.sendFile(path.join(dir, 'index.html'));
      return;
    }
    res
      .type('html')
      .send(
        '<!doctype html><title>sandpod API</title><p>The API page is not built: run <code>make build</code>. ' +
          'The description itself is at <a href="v1/openapi.json">/api/v1/openapi.json</a>.</p>',
      );
  });
  return router;
}
