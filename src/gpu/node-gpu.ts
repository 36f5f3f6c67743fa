/**
 * WebGPU in Node through the `webgpu` package (Dawn). Without a GPU, Dawn finds no adapter until
 * the Vulkan loader is pointed at a software driver; Chromium's Debian package ships SwiftShader's
 * Vulkan ICD, which we use when nothing else is found. Node-only: the browser build never imports it.
 */
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';

export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

let installed = false;

/**
 * Every Dawn instance we create stays referenced for the life of the process: when the `GPU`
 * object is garbage-collected while a device made from it still runs, Dawn's threads crash.
 */
const liveInstances: GPU[] = [];

function newInstance(): GPU {
  const gpu = create([]);
  liveInstances.push(gpu);
  return gpu;
}

function installGlobals(): void {
  if (!installed) {
    Object.assign(globalThis, globals);
    installed = true;
  }
}

export interface NodeGpu {
  gpu: GPU;
  /** How the adapter was found, for the report printed by `exprl info`. */
  via: 'system' | 'swiftshader';
}

/** A `GPU` object with at least one adapter, or an error that says what to install. */
export async function createNodeGpu(): Promise<NodeGpu> {
  installGlobals();
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const first = newInstance();
  if ((await first.requestAdapter()) !== null) return { gpu: first, via: 'system' };
  const icd = process.env.VK_ICD_FILENAMES ? undefined : SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p));
  if (icd !== undefined) {
    // The Vulkan loader reads this when Dawn creates its next Vulkan instance.
    process.env.VK_ICD_FILENAMES = icd;
    const second = newInstance();
    if ((await second.requestAdapter()) !== null) return { gpu: second, via: 'swiftshader' };
  }
  throw new Error(
    'No WebGPU adapter in Node. With a GPU, install its Vulkan driver and the Vulkan loader (Debian: ' +
      '`apt-get install libvulkan1 mesa-vulkan-drivers`). Without one, install Chromium, which ships the ' +
      'SwiftShader software driver (`apt-get install chromium libvulkan1`), or set VK_ICD_FILENAMES to a Vulkan ICD file' +
      (process.env.VK_ICD_FILENAMES ? ` (it is set to ${process.env.VK_ICD_FILENAMES}, which gave no adapter).` : '.'),
  );
}
