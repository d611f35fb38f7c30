import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../contract/index.js';
import { createApp, type Gateway } from '../../gateway/app.js';
import { type EmbeddedFixture, startEmbedded, testConfig, testLogger } from '../helpers/embedded.js';
import { sha256Hex } from '../helpers/gateway.js';
import { launchChromium, PageDriver, SCREENSHOT_DIR } from './page-driver.js';

// The whole path a student takes: a real Chromium loads the page from a real gateway whose
// embedded backend runs the programs in the sandbox. Needs root (the sandbox) and Debian's
// chromium (`make test-deps` installs it).

/** The page believes the contract's maxima; this tenant allows less wall time, so the server says 400. */
const TENANT_MAX_WALL_MS = 20_000;

async function buildPage(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'sandpod-web-'));
  await promisify(execFile)(process.execPath, ['web/build.mjs', '--no-typecheck', '--outdir', outDir], {
    cwd: path.resolve(import.meta.dirname, '../..'),
  });
  return outDir;
}

/** Screenshots named failed-* are of this run's failures only. */
async function removeOldFailureScreenshots(): Promise<void> {
  const files = await readdir(SCREENSHOT_DIR).catch(() => [] as string[]);
  await Promise.all(
    files.filter((file) => file.startsWith('failed-')).map((file) => rm(path.join(SCREENSHOT_DIR, file))),
  );
}

/** Listens on an ephemeral loopback port; returns the page's URL. */
async function listen(gateway: Gateway): Promise<string> {
  const server = gateway.httpServer;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('web page in Chromium (browser, embedded sandbox)', function () {
  this.timeout(120_000);

  let webDir: string | undefined;
  let sandbox: EmbeddedFixture | undefined;
  let gateway: Gateway | undefined;
  let browser: Browser | undefined;
  let url = '';
  let driver: PageDriver | undefined;

  before(async () => {
    await removeOldFailureScreenshots();
    webDir = await buildPage();
    sandbox = await startEmbedded(
      testConfig({
        limits: { defaults: DEFAULT_LIMITS, maxima: { ...DEFAULT_MAX_LIMITS, wallTimeMs: TENANT_MAX_WALL_MS } },
      }),
    );
    gateway = createApp({ config: sandbox.config, backend: sandbox.backend, log: testLogger(), webDir });
    url = await listen(gateway);
    browser = await launchChromium();
  });

  after(async () => {
    // Every step runs even when an earlier one fails; the first failure is reported.
    const steps = [
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

  beforeEach(async () => {
    if (!browser) throw new Error('Chromium did not start');
    driver = await PageDriver.open(browser, url);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && driver) {
      await driver.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`).catch(() => undefined);
    }
    await driver?.close();
    driver = undefined;
  });

  const page = () => {
    if (!driver) throw new Error('no page');
    return driver;
  };

  it('should greet the user when they type their name into a running Python program', async () => {
    const p = page();
    await p.chooseRuntime('python');
    await p.setSource("name = input('Your name? ')\nprint(f'Hello, {name}!')\n");

    await p.run();
    await p.waitForTerminal('Your name?');
    assert.ok(await p.isFocused('#terminal .xterm-helper-textarea'), 'the terminal should have the keyboard focus');
    await p.page.keyboard.type('Adq');
    await p.page.keyboard.press('Backspace');
    await p.page.keyboard.type('a Lovelace');
    await p.page.keyboard.press('Enter');

    await p.waitForTerminal('Hello, Ada Lovelace!');
    assert.equal(await p.waitForHeadline(/^Finished$/), 'Finished');
    assert.match(await p.text('#result .result-facts'), /Exit code 0/);
    await p.screenshot('python-interactive');
  });

  it('should close the program input when Ctrl+D is pressed on an empty line', async () => {
    const p = page();
    await p.chooseRuntime('python');
    await p.setSource(
      "import sys\nlines = sys.stdin.read().splitlines()\nprint(f'{len(lines)} lines, last {lines[-1]}')\n",
    );

    await p.run();
    await p.page.locator('#result[data-tone="busy"]').waitFor();
    await p.page.keyboard.type('first');
    await p.page.keyboard.press('Enter');
    await p.page.keyboard.type('second');
    await p.page.keyboard.press('Enter');
    await p.page.keyboard.press('Control+D');

    await p.waitForTerminal('2 lines, last second');
    assert.equal(await p.waitForHeadline(/^Finished$/), 'Finished');
  });

  it('should show the compiler message when a C program does not compile', async () => {
    const p = page();
    await p.chooseRuntime('c');
    await p.setSource('int main(void) {\n    return undeclared_name;\n}\n');

    await p.run();

    assert.equal(await p.waitForHeadline(/^Compilation failed$/), 'Compilation failed');
    await p.page.getByText('Compiler output').waitFor();
    assert.match(await p.text('#compile-output pre'), /undeclared_name.*undeclared/);
    await p.waitForTerminal('undeclared_name');
    await p.screenshot('c-compile-error');
  });

  it('should end in the Cancelled state when Stop is pressed during an endless loop', async () => {
    const p = page();
    await p.chooseRuntime('python');
    await p.setSource("print('looping', flush=True)\nwhile True:\n    pass\n");

    await p.run();
    await p.waitForTerminal('looping');
    await p.stop();

    assert.equal(await p.waitForHeadline(/^Cancelled$/), 'Cancelled');
    assert.equal(await p.page.getByRole('button', { name: 'Stop' }).isDisabled(), true);
  });

  it('should note the truncation when a program floods its output past a small limit', async () => {
    const p = page();
    await p.chooseRuntime('python');
    await p.setSource("while True:\n    print('x' * 100)\n");
    await p.setLimit('Output (KiB)', '4');

    await p.run();
    await p.waitForRunEnd();

    const notes = await p.text('#result .result-notes');
    assert.match(notes, /Output truncated: the program wrote more than 4 KiB/);
    await p.screenshot('output-flood');
  });

  it('should run the program when Ctrl+Enter is pressed after reaching the editor by keyboard alone', async () => {
    const p = page();
    await p.page.locator('body').focus();
    for (let presses = 0; presses < 10 && !(await p.isFocused('#editor .cm-content')); presses++) {
      await p.page.keyboard.press('Tab');
    }
    assert.ok(await p.isFocused('#editor .cm-content'), 'Tab should reach the editor');
    await p.page.keyboard.press('ControlOrMeta+A');
    await p.page.keyboard.insertText("print('run from the keyboard')\n");

    await p.page.keyboard.press('Control+Enter');

    await p.waitForTerminal('run from the keyboard');
    await p.waitForHeadline(/^Finished$/);
    assert.equal(await p.editorText(), "print('run from the keyboard')\n");
    assert.ok(await p.isFocused('#terminal .xterm-helper-textarea'), 'running should focus the terminal');

    // Neither the terminal nor the editor (where Tab indents) traps the keyboard.
    await p.page.keyboard.press('Shift+Tab');
    await p.page.keyboard.press('Shift+Tab');
    assert.ok(await p.isFocused('#editor .cm-content'), 'Shift+Tab should leave the terminal for the editor');
    await p.page.keyboard.press('Escape');
    await p.page.keyboard.press('Tab');
    assert.ok(await p.isFocused('#screen-reader'), 'Escape then Tab should leave the editor');
  });

  it("should refuse a limit above the tenant's maximum that the server announced", async () => {
    const p = page();
    await p.setLimit('Wall time (s)', '60');

    await p.run();

    const headline = await p.waitForHeadline(/^Not started/);
    assert.match(headline, /check the limits/);
    assert.match(await p.text('#limit-wallTimeMs-error'), new RegExp(`at most ${TENANT_MAX_WALL_MS / 1000}`));
    assert.equal(await p.page.getByLabel('Wall time (s)').getAttribute('aria-invalid'), 'true');
  });

  it('should reopen the same program when the share link is loaded', async () => {
    const p = page();
    await p.chooseRuntime('bash');
    const source = 'echo "shared · ünïcode"\n';
    await p.setSource(source);

    await p.page.getByRole('button', { name: 'Share' }).click();
    const linkField = p.page.getByLabel('Link to this program');
    await linkField.waitFor();
    const link = await linkField.inputValue();
    const other = await p.context.newPage();
    await other.goto(link);
    await other.locator('body[data-ready="true"]').waitFor();

    assert.equal(await other.getByLabel('Language').inputValue(), 'bash');
    assert.equal(await p.editorText(other), source);
  });

  it('should keep the last program per runtime when the page is reloaded', async () => {
    const p = page();
    await p.chooseRuntime('cpp');
    await p.setSource('int main() { return 3; }\n');
    await p.chooseRuntime('python');
    await p.setSource("print('kept')\n");

    await p.page.reload();
    await p.page.locator('body[data-ready="true"]').waitFor();

    assert.equal(await p.page.getByLabel('Language').inputValue(), 'python');
    assert.equal(await p.editorText(), "print('kept')\n");
    await p.chooseRuntime('cpp');
    assert.equal(await p.editorText(), 'int main() { return 3; }\n');
  });

  it('should show reconnecting and carry on with the program when the connection drops', async () => {
    const p = page();
    await p.chooseRuntime('python');
    await p.setSource("name = input('Your name? ')\nprint(f'Hello, {name}!')\n");
    await p.run();
    await p.waitForTerminal('Your name?');

    for (const socket of gateway?.io.sockets.sockets.values() ?? []) socket.conn.close();

    await p.page.locator('#connection[data-state="reconnecting"]').waitFor();
    assert.equal(await p.text('#connection'), 'Reconnecting…');
    await p.page.locator('#connection[data-state="connected"]').waitFor({ timeout: 30_000 });
    await p.waitForTerminal('Your name?');
    await p.page.keyboard.type('Grace');
    await p.page.keyboard.press('Enter');
    await p.waitForTerminal('Hello, Grace!');
    await p.waitForHeadline(/^Finished$/);
  });

  it('should ask for a token and run with it when the server requires one', async () => {
    const p = page();
    const token = 'classroom-token-0123456789';
    if (!sandbox) throw new Error('no sandbox');
    const guarded = createApp({
      config: { ...sandbox.config, tenants: [{ name: 'classroom', tokenSha256: [sha256Hex(token)] }] },
      backend: sandbox.backend,
      log: testLogger(),
      webDir,
    });
    try {
      await p.page.goto(await listen(guarded));
      await p.page.getByLabel('Access token').fill(token);

      await p.page.getByRole('button', { name: 'Save and reload' }).click();
      await p.page.locator('body[data-ready="true"]').waitFor();
      await p.setSource("print('hello, classroom')\n");
      await p.run();

      await p.waitForTerminal('hello, classroom');
      assert.equal(await p.waitForHeadline(/^Finished$/), 'Finished');
    } finally {
      await guarded.close();
    }
  });

  it('should connect again when Run is pressed after the server closed the idle connection', async () => {
    const p = page();
    if (!sandbox) throw new Error('no sandbox');
    const impatient = createApp({
      config: { ...sandbox.config, socket: { ...sandbox.config.socket, idleTimeoutMs: 300 } },
      backend: sandbox.backend,
      log: testLogger(),
      webDir,
    });
    try {
      await p.goto(await listen(impatient));
      await p.page.locator('#connection[data-state="idle"]').waitFor();
      await p.setSource("print('connected again')\n");

      await p.run();

      await p.waitForTerminal('connected again');
      assert.equal(await p.waitForHeadline(/^Finished$/), 'Finished');
    } finally {
      await impatient.close();
    }
  });

  it('should fit a narrow screen without sideways scrolling', async () => {
    const p = page();
    await p.page.setViewportSize({ width: 375, height: 740 });

    const overflow = await p.page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );

    assert.equal(overflow, 0);
    await p.run();
    await p.waitForTerminal('Your name?');
    await p.screenshot('narrow');
  });
});
