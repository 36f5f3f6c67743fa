/**
 * WebGPU in Node through the `webgpu` package (Dawn). Without a GPU, Dawn finds no adapter until
 * the Vulkan loader is pointed at a software driver; Chromium's Debian package ships SwiftShader's
 * Vulkan ICD, which we use when nothing else is found. Node-only: the browser build never imports it.
 */
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
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

/**
 * Polls of a wait that run at once; later ones wait POLL_INTERVAL_MS each (see politePolls). A
 * readback that follows little work resolves within these; only long waits reach the timer.
 */
const FAST_POLLS = 8;
const POLL_INTERVAL_MS = 1;

/**
 * Dawn's Node binding learns that GPU work has finished (mapAsync, onSubmittedWorkDone) by
 * polling: while such a promise is pending, a native callback handed to the global setImmediate
 * processes Dawn's events and schedules itself again, so the main thread spins for the whole
 * wait. With SwiftShader that spin competes with the threads that run the kernels: on this
 * 2-core machine ten 4096×256×96 multiplies took 1.04-1.83 s waited for that way and
 * 0.54-0.70 s with the polls on a 1 ms timer (the main thread busy 330-600 ms against 20-30 ms).
 * So native callbacks (only an addon passes one) after the first FAST_POLLS of a wait run on a
 * timer of POLL_INTERVAL_MS; JavaScript callbacks go to Node's setImmediate untouched. A wait
 * resolves at most about a millisecond later than it would have.
 */
function politePolls(): void {
  const immediate = globalThis.setImmediate;
  let streak = 0;
  let inPoll = false;
  const polite = (fn: (...args: unknown[]) => void, ...args: unknown[]): unknown => {
    if (typeof fn !== 'function' || !Function.prototype.toString.call(fn).includes('[native code]')) return immediate(fn, ...args);
    // A poll scheduled from within the previous one continues its wait.
    streak = inPoll ? streak + 1 : 0;
    const poll = (): void => {
      inPoll = true;
      try {
        fn(...args);
      } finally {
        inPoll = false;
      }
    };
    return streak < FAST_POLLS ? immediate(poll) : setTimeout(poll, POLL_INTERVAL_MS);
  };
  // util.promisify(setImmediate) keeps working: it looks for Node's own promise form here.
  const custom = promisify.custom;
  Object.assign(polite, { __promisify__: immediate.__promisify__, [custom]: (immediate as unknown as Record<symbol, unknown>)[custom] });
  Object.assign(globalThis, { setImmediate: polite });
}

function installGlobals(): void {
  if (!installed) {
    Object.assign(globalThis, globals);
    politePolls();
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
