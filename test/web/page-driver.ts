import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

// Drives the sandpod page the way a person does: through its labelled controls, the editor and
// the terminal. Waits are on what the page shows, never on fixed sleeps.

export const SCREENSHOT_DIR = path.join(process.cwd(), 'test-output', 'browser');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export class PageDriver {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** A fresh context (empty localStorage) with the page loaded and its languages listed. */
  static async open(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<PageDriver> {
    const context = await browser.newContext({ viewport });
    try {
      const page = await context.newPage();
      const driver = new PageDriver(context, page);
      await driver.goto(url);
      return driver;
    } catch (error) {
      await context.close();
      throw error;
    }
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('body[data-ready="true"]').waitFor();
  }

  get terminal(): Locator {
    return this.page.locator('#terminal .xterm-rows');
  }

  get headline(): Locator {
    return this.page.locator('#result .result-headline');
  }

  get editorContent(): Locator {
    return this.page.locator('#editor .cm-content');
  }

  async text(selector: string): Promise<string> {
    return ((await this.page.locator(selector).textContent()) ?? '').trim();
  }

  /** The program in the editor, line by line as CodeMirror renders it. */
  async editorText(page: Page = this.page): Promise<string> {
    return (await page.locator('#editor .cm-line').allTextContents()).join('\n');
  }

  async chooseRuntime(name: string): Promise<void> {
    await this.page.getByLabel('Language').selectOption(name);
  }

  /** Replaces the program in the editor, as typing would (but without auto-indent or auto-close). */
  async setSource(source: string): Promise<void> {
    await this.editorContent.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.insertText(source);
  }

  async run(): Promise<void> {
    await this.page.getByRole('button', { name: /^Run/ }).click();
  }

  async stop(): Promise<void> {
    await this.page.getByRole('button', { name: 'Stop' }).click();
  }

  async setLimit(label: string, value: string): Promise<void> {
    const details = this.page.locator('details.limits');
    if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
    await this.page.getByLabel(label).fill(value);
  }

  /** Resolves once the terminal shows `text`. */
  async waitForTerminal(text: string): Promise<void> {
    await this.terminal.filter({ hasText: text }).waitFor({ timeout: 30_000 });
  }

  /** Resolves once the result bar's headline matches; returns it. */
  async waitForHeadline(pattern: RegExp): Promise<string> {
    const headline = this.page.locator('#result .result-headline', { hasText: pattern });
    await headline.waitFor({ timeout: 30_000 });
    return (await headline.textContent()) ?? '';
  }

  /** Resolves once a run has ended, whatever its outcome. */
  async waitForRunEnd(): Promise<void> {
    await this.page.locator('#result:not([data-tone="busy"])').waitFor({ timeout: 30_000 });
    await this.page.locator('#run:not([disabled])').waitFor({ timeout: 30_000 });
  }

  async isFocused(selector: string): Promise<boolean> {
    return this.page.locator(selector).evaluate((element) => element === element.ownerDocument.activeElement);
  }

  async screenshot(name: string): Promise<string> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  close(): Promise<void> {
    return this.context.close();
  }
}
