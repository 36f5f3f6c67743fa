/**
 * The app as the e2e tests open it: the production build served by `vite preview`, and the one
 * Chromium the e2e project starts (test/support/e2e-global.ts). A file that needs other launch
 * arguments (WebGPU off) gets a browser of its own on the same server.
 */
import { chromium, type Browser } from 'playwright-core';
import { inject } from 'vitest';
import { chromiumPath } from './chromium';

export interface E2eApp {
  url: string;
  browser: Browser;
  /** Closes the contexts this file opened (and its own browser, where it has one). */
  close(): Promise<void>;
}

/** `args`: Chromium's launch arguments for a browser of this file's own; none: the shared browser. */
export async function startApp(args?: readonly string[]): Promise<E2eApp> {
  const url = inject('e2eUrl');
  const browser = args === undefined ? await chromium.connect(inject('e2eBrowserWs')) : await chromium.launch({ executablePath: chromiumPath(), args: [...args], headless: true });
  return { url, browser, close: () => browser.close() };
}
