/** The Gpu of a command: Dawn through the `webgpu` package, with the adapter's cached kernel choices. */
import { tuneKernels, type KernelChoice } from '../gpu/autotune';
import { FileChoiceStore } from '../gpu/choice-store-node';
import { createNodeGpu, type NodeGpu } from '../gpu/node-gpu';
import { DeviceLostError, Gpu } from '../gpu/runtime';

export interface CliGpu {
  /** The device in use; `renewGpu` replaces it after a loss. */
  gpu: Gpu;
  via: NodeGpu['via'];
  kernels: KernelChoice;
  /** Devices lost without our asking so far in this process. */
  losses: number;
}

export async function openGpu(reprobe = false): Promise<CliGpu> {
  const { gpu, via } = await createNodeGpu();
  const device = await Gpu.create(gpu, 'Node (Dawn)');
  return { gpu: device, via, kernels: await tuneKernels(device, new FileChoiceStore(), reprobe), losses: 0 };
}

/**
 * Replaces a lost device with a fresh one that runs the same kernel variants (no new probe: a
 * resumed run must compute what the lost device would have).
 */
export async function renewGpu(g: CliGpu): Promise<void> {
  const lost = g.gpu;
  lost.destroy();
  const { gpu } = await createNodeGpu();
  const fresh = await Gpu.create(gpu, 'Node (Dawn)');
  fresh.preferences = { matmul: [...lost.preferences.matmul], rowWidth: lost.preferences.rowWidth };
  g.gpu = fresh;
}

/** Runs `body` with a Gpu and always releases it, the current one after any renewal (Dawn aborts at exit while a device lives). */
export async function withGpu<T>(body: (g: CliGpu) => Promise<T>, reprobe = false): Promise<T> {
  const g = await openGpu(reprobe);
  try {
    return await body(g);
  } finally {
    // A lost device has nothing left to wait for; its error is already on its way.
    await g.gpu.sync().catch((e: unknown) => {
      if (!(e instanceof DeviceLostError)) throw e;
    });
    g.gpu.destroy();
  }
}
