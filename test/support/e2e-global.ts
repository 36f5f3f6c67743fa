/**
 * Global setup of the e2e project: the production build of the app (`vite build` into a temporary
 * folder), served by `vite preview`, and one headless Chromium that every e2e file connects to.
 * The tests see what a user of `npm run build` gets (the worker, wasm and model files as built
 * assets), and pay for one build and one browser start, not one per file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserServer } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import type { TestProject } from 'vitest/node';
import { chromiumLaunchArgs, chromiumPath } from './chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The preview server's address, ending in "/". */
    e2eUrl: string;
    /** Where the shared Chromium listens (playwright's connect). */
    e2eBrowserWs: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(join(tmpdir(), 'exprl-e2e-build-'));
  let server: PreviewServer | undefined;
  let browser: BrowserServer | undefined;
  const teardown = async (): Promise<void> => {
    await browser?.close();
    await server?.close();
    await rm(outDir, { recursive: true, force: true });
  };
  try {
    await build({ root: process.cwd(), logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({ root: process.cwd(), logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1', strictPort: false } });
    const address = server.httpServer.address();
    if (address === null || typeof address !== 'object') throw new Error('vite preview server has no address');
    browser = await chromium.launchServer({ executablePath: chromiumPath(), args: [...chromiumLaunchArgs], headless: true });
    project.provide('e2eUrl', `http://127.0.0.1:${address.port}/`);
    project.provide('e2eBrowserWs', browser.wsEndpoint());
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
