/** The page served by Vite and the system Chromium, for end-to-end tests that share one browser. */
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumLaunchArgs, chromiumPath } from './chromium';

export interface E2eApp {
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

/** `args`: Chromium's launch arguments (default the project's, WebGPU on). */
export async function startApp(args: readonly string[] = chromiumLaunchArgs): Promise<E2eApp> {
  // No HMR: a source file saved while a test runs would otherwise reload the page under it.
  const server: ViteDevServer = await createServer({ root: process.cwd(), logLevel: 'error', server: { port: 0, host: '127.0.0.1', hmr: false } });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || typeof address !== 'object') throw new Error('vite server has no address');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...args], headless: true });
  return {
    url: `http://127.0.0.1:${address.port}/`,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
