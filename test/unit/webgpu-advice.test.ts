// What the page says when it cannot train (src/ui/state/webgpu-advice.ts): the engine's real start-up
// errors are sorted into "no WebGPU" and "no adapter", and the advice names the reader's browser
// and the step that fits it (Linux: the flag; an old Chrome: update; Safari: version 26).
import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../src/gpu/device';
import { browserInfo, webgpuAdvice, webgpuProblem } from '../../src/ui/state/webgpu-advice';

/** The error as comlink hands it to the page: a plain Error carrying the name and message. */
async function engineError(gpu: GPU | undefined): Promise<{ name: string; message: string }> {
  try {
    await acquireDevice(gpu);
  } catch (e) {
    const err = e as Error;
    return Object.assign(new Error(err.message), { name: err.name });
  }
  throw new Error('acquireDevice did not fail');
}

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  oldChromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36',
  edgeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15',
  chromeOs: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
};

describe('webgpu advice', () => {
  it("sorts the engine's own start-up errors", async () => {
    expect(webgpuProblem(await engineError(undefined))).toBe('no-webgpu');
    expect(webgpuProblem(await engineError({ requestAdapter: async () => null } as unknown as GPU))).toBe('no-adapter');
    expect(webgpuProblem(new Error("The GPU engine's worker failed to load."))).toBe('other');
    expect(webgpuProblem({ name: 'Error', message: 'navigator.gpu is missing' })).toBe('other');
  });

  it('reads the browser, its version and the system', () => {
    expect(browserInfo(UA.chromeLinux)).toEqual({ browser: 'chrome', version: 131, os: 'linux' });
    expect(browserInfo(UA.edgeWin)).toEqual({ browser: 'edge', version: 131, os: 'windows' });
    expect(browserInfo(UA.firefoxWin)).toEqual({ browser: 'firefox', version: 128, os: 'windows' });
    expect(browserInfo(UA.safariMac)).toEqual({ browser: 'safari', version: 18, os: 'macos' });
    expect(browserInfo(UA.chromeOs)).toEqual({ browser: 'chrome', version: 131, os: 'chromeos' });
    expect(browserInfo('curl/8')).toEqual({ browser: 'other', version: null, os: 'other' });
  });

  it('tells each reader the step that fits their browser', () => {
    const linux = webgpuAdvice('no-adapter', browserInfo(UA.chromeLinux));
    expect(linux.why).toMatch(/^Chrome 131 has WebGPU, but it found no graphics adapter/);
    expect(linux.todo).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/);
    expect(webgpuAdvice('no-adapter', browserInfo(UA.chromeWin)).todo).toMatch(/graphics acceleration/);
    expect(webgpuAdvice('no-webgpu', browserInfo(UA.oldChromeMac))).toEqual({ why: expect.stringMatching(/Chrome 109 is older than WebGPU/), todo: 'Update the browser.' });
    expect(webgpuAdvice('no-webgpu', browserInfo(UA.firefoxWin)).todo).toMatch(/Firefox 141 or later/);
    expect(webgpuAdvice('no-webgpu', browserInfo(UA.firefoxLinux)).todo).toMatch(/Chrome or Edge/);
    expect(webgpuAdvice('no-webgpu', browserInfo(UA.safariMac)).todo).toMatch(/Safari 26/);
    expect(webgpuAdvice('other', browserInfo(UA.chromeWin)).why).toMatch(/did not start/);
  });
});
