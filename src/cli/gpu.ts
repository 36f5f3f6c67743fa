/** The Gpu of a command: Dawn through the `webgpu` package, with the adapter's cached kernel choices. */
import { tuneKernels, type KernelChoice } from '../gpu/autotune';
import { FileChoiceStore } from '../gpu/choice-store-node';
import { createNodeGpu, type NodeGpu } from '../gpu/node-gpu';
import { Gpu } from '../gpu/runtime';

export interface CliGpu {
  gpu: Gpu;
  via: NodeGpu['via'];
  kernels: KernelChoice;
}

export async function openGpu(reprobe = false): Promise<CliGpu> {
  const { gpu, via } = await createNodeGpu();
  const device = await Gpu.create(gpu, 'Node (Dawn)');
  return { gpu: device, via, kernels: await tuneKernels(device, new FileChoiceStore(), reprobe) };
}

/** Runs `body` with a Gpu and always releases it (Dawn aborts at exit while a device lives). */
export async function withGpu<T>(body: (g: CliGpu) => Promise<T>, reprobe = false): Promise<T> {
  const g = await openGpu(reprobe);
  try {
    return await body(g);
  } finally {
    await g.gpu.sync();
    g.gpu.destroy();
  }
}
