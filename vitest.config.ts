import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { existsSync } from 'node:fs';
import { SWIFTSHADER_ICD_PATHS } from './src/gpu/node-gpu.ts';
import { chromiumLaunchArgs, chromiumPath } from './test/support/chromium.ts';

// Test workers inherit this: Dawn then finds SwiftShader on machines with no GPU driver.
if (!process.env.VK_ICD_FILENAMES && !process.env.EXPRL_SYSTEM_VULKAN) {
  const icd = SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p));
  if (icd !== undefined) process.env.VK_ICD_FILENAMES = icd;
}

// Three projects: pure logic in Node, kernels in real Chromium (SwiftShader when there is no
// GPU), and kernels in Node through Dawn (the path the `exprl` command uses).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // The float64 finite-difference checks take ~5 s alone and more while the GPU projects
          // share the CPU (CI runs them together): time is not what these tests check.
          testTimeout: 60_000,
        },
      },
      {
        resolve: { alias: { '#test-gpu': '/test/support/gpu-browser.ts' } },
        test: {
          name: 'gpu',
          include: ['test/kernels/**/*.test.ts', 'test/model/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: chromiumPath(), args: chromiumLaunchArgs },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // The production build, served by vite preview, and one shared Chromium.
          globalSetup: ['test/support/e2e-global.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Learning from the shipped base policy, through Dawn as the CLI runs: direction, over
        // seeds, with controls (sparse GRPO, then guarded ExpRL-Process). Budget: 6 minutes on a
        // software GPU (measured 6.3 min on 2 cores shared with a background experiment); the
        // timeout leaves room for the other projects sharing the CPU in CI.
        test: {
          name: 'learning',
          include: ['test/learning/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/gpu-node-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 120_000,
          pool: 'forks',
          maxWorkers: 1,
        },
      },
      {
        resolve: { alias: { '#test-gpu': '/test/support/gpu-node.ts' } },
        test: {
          name: 'gpu-node',
          // test/oracle/: Node only (llama.cpp through node-llama-cpp as an outside oracle).
          include: ['test/kernels/**/*.test.ts', 'test/model/**/*.test.ts', 'test/oracle/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/gpu-node-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One Dawn instance per worker; kernels share the device.
          pool: 'forks',
          maxWorkers: 1,
        },
      },
    ],
  },
});
