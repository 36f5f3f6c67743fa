/** The test GPU in the `gpu-node` project: Dawn through the `webgpu` package, as the CLI uses it. */
import { createNodeGpu } from '../../src/gpu/node-gpu';
import { Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= createNodeGpu().then(({ gpu }) => Gpu.create(gpu, 'Node (Dawn)'));
  return shared;
}

/** Called after each test file: Dawn aborts at process exit if a device is still alive. */
export async function releaseTestGpu(): Promise<void> {
  if (shared === null) return;
  const gpu = await shared;
  shared = null;
  await gpu.sync();
  gpu.destroy();
}

export const testPlatform = 'node';
