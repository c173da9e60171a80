// Real-browser tests: Debian's Chromium driven by playwright-core (which downloads no browser; see
// scripts/chromium.sh), one browser per test file, a fresh context per page so that no cookie,
// storage or language carries from one payer to the next, and screenshots in test-output/browser/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Where screenshots go: at the clone's root, ignored by git, kept after the run for a look; or
 * SCREENSHOT_FOLDER (the README's pictures: `SCREENSHOT_FOLDER=docs/cashier npm test -- <file>`).
 */
export const screenshotFolder = path.resolve(
  process.env.SCREENSHOT_FOLDER ?? path.join(__dirname, '../../test-output/browser'),
);

// Headless in a container as root: no sandbox (it needs user namespaces), no GPU, and nothing
// that reaches out to Google's services, which this machine cannot reach and the tests never need.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

/** Launches a headless Chromium: CHROMIUM_PATH (set by scripts/test.sh) or Debian's. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
  });
}

/** The running test's full name, for the screenshot of a page it fails on. */
let runningTest: string | undefined;

/**
 * The test file's Chromium, launched before its first test and closed after its last: call once
 * at the top level of the file, and `browser()` inside a test. Also names the screenshots taken
 * when a test fails in `withPage` (its tests run one at a time, node:test's default).
 */
export function chromiumForFile(): () => Browser {
  let launched: Browser | undefined;
  before(async () => {
    launched = await launchChromium();
  });
  after(async () => {
    await launched?.close();
  });
  beforeEach((t) => {
    // A test's context has its full name (with its describe blocks'); a suite's only its own.
    runningTest = 'fullName' in t ? t.fullName : t.name;
  });
  return () => {
    if (!launched) throw new Error('the browser is launched in before(): use it inside a test');
    return launched;
  };
}

export interface PageOptions {
  /** The payer's language (navigator.language and the Accept-Language header), e.g. 'zh-CN'. */
  locale: string;
  /** The payer's browser as servers see it (WeChat on a phone, say); Chromium's own when absent. */
  userAgent?: string;
  /**
   * The payer's time zone, Asia/Shanghai when absent: the channels' payers are in China, and the
   * machine's own zone must not change what a test sees.
   */
  timezoneId?: string;
}

/**
 * Runs `work` on a new page in a fresh browser context, closed afterwards whatever happens. When
 * `work` fails, the page is first saved as "<test name> (failed).png": the page as the failure
 * found it, which is gone by the time an afterEach hook could look.
 */
export async function withPage<T>(
  browser: Browser,
  options: PageOptions,
  work: (page: Page) => Promise<T>,
): Promise<T> {
  const context = await browser.newContext({
    locale: options.locale,
    timezoneId: options.timezoneId ?? 'Asia/Shanghai',
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
  });
  try {
    const page = await context.newPage();
    try {
      return await work(page);
    } catch (err) {
      await screenshot(page, `${runningTest ?? 'page'} (failed)`).catch((shotFailed: unknown) =>
        console.error(`browser: no screenshot of the failed page: ${String(shotFailed)}`),
      );
      throw err;
    }
  } finally {
    await context.close();
  }
}

/** Saves the whole page as test-output/browser/<name>.png (a name fit for a file): its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotFolder, { recursive: true });
  const fileName = name.replace(/[^\p{L}\p{N} ._()-]+/gu, '-').slice(0, 150);
  const file = path.join(screenshotFolder, `${fileName}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
