import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium, or the one COURIER_CHROMIUM names; `npm test` installs Debian's when it can. */
export function chromiumPath(): string {
  const found = [process.env.COURIER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && fs.existsSync(p));
  if (!found) throw new Error('the dashboard tests need Chromium: `apt-get install chromium`, or set COURIER_CHROMIUM to its path');
  return found;
}

/** Headless Chromium with nothing reaching out of the machine (its background services would be refused here anyway). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Screenshots go under test-output/ (not committed), one per page and viewport, to be looked at after a run. */
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'dashboard');

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
