/** Where the system Chromium is and how to start it headless with WebGPU, for tests and benchmarks. */
import { existsSync } from 'node:fs';

export const chromiumLaunchArgs = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `No Chromium or Chrome found (looked at ${CANDIDATES.join(', ')}). Install it (Debian: ` +
        '`apt-get install chromium`) or set CHROMIUM_PATH to the browser executable.',
    );
  }
  return found;
}
