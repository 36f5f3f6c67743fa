/** The test GPU in the `gpu-node` project: Dawn through the `webgpu` package, as the CLI uses it. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuneKernels } from '../../src/gpu/autotune';
import { FileChoiceStore } from '../../src/gpu/choice-store-node';
import { createNodeGpu } from '../../src/gpu/node-gpu';
import { Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | null = null;

/** The device with its kernel variants chosen as the CLI chooses them (probe cached in a temp file, not the user's cache). */
export function testGpu(): Promise<Gpu> {
  shared ??= createNodeGpu().then(async ({ gpu }) => {
    const device = await Gpu.create(gpu, 'Node (Dawn)');
    await tuneKernels(device, new FileChoiceStore(join(tmpdir(), 'exprl-lab-test-kernel-choices.json')));
    return device;
  });
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
