import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

const NATIVE = ['webgpu', '@huggingface/transformers', 'jsdom', '@observablehq/plot'];

// The `exprl` command: src/cli/main.ts bundled for Node (WGSL inlined through ?raw imports),
// with the native packages (`webgpu`; transformers.js, which loads onnxruntime-node, only when a
// judge runs through it; jsdom, which loads files of its own, and Observable Plot, imported with
// it only when `exprl experiment` draws its plots) and Node built-ins left external.
export default defineConfig({
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist-cli',
    target: 'node20',
    emptyOutDir: true,
    rollupOptions: {
      external: [...NATIVE, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { entryFileNames: 'exprl.js', format: 'es' },
    },
  },
  ssr: { noExternal: true, external: NATIVE },
  logLevel: 'warn',
});
