/** The test GPU in the `gpu` project: Chromium's navigator.gpu (SwiftShader on a machine without a GPU). */
import { Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create(navigator.gpu, 'the test browser');
  return shared;
}

export const testPlatform = 'browser';
