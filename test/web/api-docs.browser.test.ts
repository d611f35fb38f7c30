import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext } from 'playwright-core';
import { createApp, type Gateway } from '../../gateway/app.js';
import { type EmbeddedFixture, startEmbedded, testLogger } from '../helpers/embedded.js';
import { launchChromium, SCREENSHOT_DIR } from './page-driver.js';

// The API page at /api/docs, loaded by a real Chromium from a real gateway, with every request
// off the gateway's origin refused: the page must come whole from the build.

describe('API page in Chromium (browser)', function () {
  this.timeout(120_000);

  let webDir: string | undefined;
  let sandbox: EmbeddedFixture | undefined;
  let gateway: Gateway | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let origin = '';

  before(async () => {
    webDir = await mkdtemp(path.join(tmpdir(), 'sandpod-web-'));
    await promisify(execFile)(process.execPath, ['web/build.mjs', '--no-typecheck', '--outdir', webDir], {
      cwd: path.resolve(import.meta.dirname, '../..'),
    });
    sandbox = await startEmbedded();
    gateway = createApp({ config: sandbox.config, backend: sandbox.backend, log: testLogger(), webDir });
    const server = gateway.httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    const steps = [
      () => context?.close(),
      () => browser?.close(),
      () => gateway?.close(),
      () => sandbox?.close(),
      () => (webDir ? rm(webDir, { recursive: true, force: true }) : undefined),
    ];
    const failures: unknown[] = [];
    for (const step of steps)
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });

  it('should show the operations and the Socket.IO events, and call the API, with no network but the gateway', async () => {
    if (!browser) throw new Error('Chromium did not start');
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const offOrigin: string[] = [];
    await context.route('**/*', (route) => {
      const requested = route.request().url();
      if (requested.startsWith(`${origin}/`) || requested.startsWith('data:')) return route.continue();
      offOrigin.push(requested);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    const failedScripts: string[] = [];
    page.on('pageerror', (error) => failedScripts.push(error.message));

    try {
      await page.goto(`${origin}/api/docs`);
      await page.locator('body[data-ready="true"]').waitFor();

      assert.equal(new URL(page.url()).pathname, '/api/docs/');
      await page.getByRole('heading', { name: 'Socket.IO' }).waitFor();
      await page.locator('.opblock-summary-path', { hasText: '/executions/{id}' }).first().waitFor();
      const listRuntimes = page.locator('#operations-Runtimes-listRuntimes');
      await listRuntimes.locator('.opblock-summary').click();
      await listRuntimes.locator('button.try-out__btn').click();
      await listRuntimes.locator('button.execute').click();
      const answer = listRuntimes.locator('.live-responses-table tbody .response-col_status').first();
      await answer.waitFor();
      assert.equal((await answer.textContent())?.trim(), '200');
      const shown = await listRuntimes.locator('.live-responses-table .microlight').first().textContent();
      assert.match(shown ?? '', /"python"/);
      assert.deepEqual(offOrigin, [], 'the page asked for nothing off the gateway');
      assert.deepEqual(failedScripts, []);
    } catch (error) {
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'failed-api-docs.png') }).catch(() => undefined);
      throw error;
    }
  });
});
