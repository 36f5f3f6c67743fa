/** The test GPU in the `gpu` project: Chromium's navigator.gpu (SwiftShader on a machine without a GPU). */
import { tuneKernels } from '../../src/gpu/autotune';
import { IndexedDbChoiceStore } from '../../src/gpu/choice-store-browser';
import { Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | null = null;

/** The device with its kernel variants chosen as the app chooses them (probed once per browser profile). */
export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create(navigator.gpu, 'the test browser').then(async (gpu) => {
    await tuneKernels(gpu, new IndexedDbChoiceStore());
    return gpu;
  });
  return shared;
}

export const testPlatform = 'browser';
