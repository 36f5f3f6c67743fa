/**
 * Device acquisition: one place that turns a `GPU` object (navigator.gpu in a browser or worker,
 * the `webgpu` package's Dawn binding in Node) into a device that has the adapter's full limits.
 * A device gets only the WebGPU defaults unless it asks for more, and the kernels need more
 * storage buffers per stage than the default 8 on some paths.
 */

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (SwiftShader): the kernel variant choice depends on it only through measurement. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export class WebGPUUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGPUUnavailableError';
  }
}

/** Limits we copy from the adapter into the device request when the adapter offers them. */
const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
  'maxUniformBufferBindingSize',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups' as GPUFeatureName];

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  report: AdapterReport;
}

function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = (limits as unknown as Record<string, unknown>)[name];
    if (typeof v === 'number') out[name] = v;
  }
  return out;
}

export function describeAdapter(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const deviceName = info.device ?? '';
  const description = info.description ?? '';
  const fallback = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = `${vendor} ${architecture} ${deviceName} ${description}`.toLowerCase();
  return {
    vendor,
    architecture,
    device: deviceName,
    description: [vendor, architecture, deviceName, description].filter((s) => s !== '').join(' / ') || 'unknown adapter',
    isSoftware: fallback || /swiftshader|llvmpipe|lavapipe|software|warp/.test(text),
    features: [...adapter.features].map(String).sort(),
    limits: readLimits(adapter.limits),
  };
}

/**
 * Requests an adapter and a device with the adapter's limits and the optional features it has.
 * Errors say what to do: enable WebGPU, install Chromium's SwiftShader, or use another browser.
 */
export async function acquireDevice(
  gpu: GPU | undefined,
  options: { powerPreference?: GPUPowerPreference; where?: string } = {},
): Promise<AcquiredDevice> {
  const where = options.where ?? 'this browser';
  if (gpu === undefined) {
    throw new WebGPUUnavailableError(
      `WebGPU is not available in ${where}: navigator.gpu is missing. Use a current Chrome or Chromium ` +
        '(version 113 or later) over https or localhost; on Linux start it with --enable-unsafe-webgpu ' +
        'if WebGPU is still behind a flag there.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (adapter === null) {
    throw new WebGPUUnavailableError(
      `WebGPU is present in ${where} but no adapter was found. On a machine without a GPU, Chromium ` +
        'provides a software adapter (SwiftShader): install the Debian package `chromium`. ' +
        'In Node, point the Vulkan loader at it: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.',
    );
  }
  const report = describeAdapter(adapter);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: report.limits,
    label: 'exprl-lab',
  });
  return { adapter, device, report };
}
