/** The engine's API as the UI sees it through comlink: plain data in and out, no GPU objects. */
import type { KernelChoice } from '../gpu/autotune';
import type { AdapterReport } from '../gpu/device';

export interface EngineStatus {
  adapter: AdapterReport;
  kernels: KernelChoice;
}

export interface SelfCheckResult {
  shape: [number, number, number];
  variant: string;
  relL2: number;
  ms: number;
}

export interface EngineApi {
  /** Acquires the device and chooses kernel variants (probing once per adapter). */
  init(): Promise<EngineStatus>;
  /** Multiplies random matrices on the GPU and compares with a float64 product on the CPU. */
  selfCheck(m: number, n: number, k: number): Promise<SelfCheckResult[]>;
}
