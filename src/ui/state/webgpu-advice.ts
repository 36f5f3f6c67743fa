/**
 * What to tell someone whose browser cannot train here: why (no WebGPU at all, or WebGPU
 * without a usable graphics adapter) and what to do, for their browser and system as the user
 * agent string names them. Pure: no DOM, no WebGPU; the page passes navigator.userAgent and the
 * engine's error.
 */

export type WebGpuProblem = 'no-webgpu' | 'no-adapter' | 'other';

/**
 * The engine's start-up error, sorted. The engine (src/gpu/device.ts, acquireDevice) throws a
 * WebGPUUnavailableError; its name and message survive comlink, its class does not.
 */
export function webgpuProblem(error: { name?: string; message?: string }): WebGpuProblem {
  const message = error.message ?? '';
  if (error.name !== 'WebGPUUnavailableError') return 'other';
  return /navigator\.gpu is missing/.test(message) ? 'no-webgpu' : /no adapter/.test(message) ? 'no-adapter' : 'other';
}

export interface BrowserInfo {
  browser: 'chrome' | 'edge' | 'firefox' | 'safari' | 'other';
  version: number | null;
  os: 'windows' | 'macos' | 'chromeos' | 'linux' | 'android' | 'ios' | 'other';
}

/** The browser and system a user agent string names (the usual tokens; order matters: Edge says Chrome too). */
export function browserInfo(userAgent: string): BrowserInfo {
  const ua = userAgent;
  const os: BrowserInfo['os'] = /iPhone|iPad|iPod/.test(ua)
    ? 'ios'
    : /Android/.test(ua)
      ? 'android'
      : /CrOS/.test(ua)
        ? 'chromeos'
        : /Windows/.test(ua)
          ? 'windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'macos'
            : /Linux|X11/.test(ua)
              ? 'linux'
              : 'other';
  const version = (re: RegExp): number | null => {
    const m = re.exec(ua);
    return m === null ? null : Number(m[1]);
  };
  if (/Edg\//.test(ua)) return { browser: 'edge', version: version(/Edg\/(\d+)/), os };
  if (/Firefox\//.test(ua)) return { browser: 'firefox', version: version(/Firefox\/(\d+)/), os };
  if (/(Chrome|Chromium|CriOS)\//.test(ua)) return { browser: 'chrome', version: version(/(?:Chrome|Chromium|CriOS)\/(\d+)/), os };
  if (/Safari\//.test(ua) && /Version\//.test(ua)) return { browser: 'safari', version: version(/Version\/(\d+)/), os };
  return { browser: 'other', version: null, os };
}

/** Where WebGPU is on by default (as of late 2025), for the list every reader gets. */
export const WHERE_WEBGPU_WORKS: readonly string[] = [
  'Chrome or Edge 113 or later on Windows, macOS or ChromeOS: on by default.',
  'Chrome 121 or later on Android 12 or later (most recent phones).',
  'Chrome or Edge on Linux: switch it on at chrome://flags/#enable-unsafe-webgpu (and, on some machines, chrome://flags/#enable-vulkan), then restart the browser.',
  'Firefox 141 or later on Windows, Firefox 145 or later on macOS with Apple silicon; elsewhere only Firefox Nightly has it.',
  'Safari 26 or later (macOS Tahoe, iOS and iPadOS 26).',
];

/** Why this page cannot train in this browser, and the first thing to try, in a user's words. */
export function webgpuAdvice(problem: WebGpuProblem, b: BrowserInfo): { why: string; todo: string } {
  const chromium = b.browser === 'chrome' || b.browser === 'edge';
  const name = { chrome: 'Chrome', edge: 'Edge', firefox: 'Firefox', safari: 'Safari', other: 'This browser' }[b.browser];
  const named = b.version === null || b.browser === 'other' ? name : `${name} ${b.version}`;
  if (problem === 'no-adapter') {
    const why = `${named} has WebGPU, but it found no graphics adapter it may use, so nothing can be trained here.`;
    if (chromium && b.os === 'linux') return { why, todo: 'On Linux WebGPU is still behind a flag: open chrome://flags/#enable-unsafe-webgpu, set it to Enabled, and restart the browser (on some machines chrome://flags/#enable-vulkan is needed too).' };
    if (chromium) return { why, todo: 'Check that graphics acceleration is on (Settings → System → "Use graphics acceleration when available"), update the graphics driver, and look at chrome://gpu: a GPU on the browser\'s block list shows there as "WebGPU: disabled".' };
    return { why, todo: 'Update the browser and the graphics driver, and check that hardware acceleration is on in the browser\'s settings. Or use Chrome or Edge on Windows or macOS.' };
  }
  if (problem === 'no-webgpu') {
    if (chromium && b.version !== null && b.version < 113) return { why: `${named} is older than WebGPU (Chrome and Edge have it from version 113).`, todo: 'Update the browser.' };
    if (chromium && b.os === 'linux') return { why: `${named} on Linux has WebGPU switched off.`, todo: 'Open chrome://flags/#enable-unsafe-webgpu, set it to Enabled, and restart the browser.' };
    if (chromium) return { why: `WebGPU is switched off in ${named}, or the page is not served over https (or localhost), which WebGPU needs.`, todo: 'Open the page over https, check chrome://flags/#enable-unsafe-webgpu is not Disabled, and update the browser.' };
    if (b.browser === 'firefox') return { why: `${named} has no WebGPU on this system.`, todo: b.os === 'windows' ? 'Update to Firefox 141 or later, or use Chrome or Edge.' : 'Use Chrome or Edge (on Linux with the flag below), or Firefox Nightly.' };
    if (b.browser === 'safari') return { why: `${named} has no WebGPU.`, todo: 'Update to Safari 26 or later (macOS Tahoe, iOS 26), or use Chrome.' };
    return { why: 'This browser has no WebGPU, which the page needs to train on your GPU.', todo: 'Use Chrome or Edge 113 or later on Windows, macOS or ChromeOS.' };
  }
  return { why: 'The GPU engine did not start.', todo: 'Reload the page; if it fails again, try Chrome or Edge on Windows or macOS, and see the error below.' };
}
