import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

// The `exprl` command: src/cli/main.ts bundled for Node (WGSL inlined through ?raw imports),
// with the `webgpu` native package and Node built-ins left external.
export default defineConfig({
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist-cli',
    target: 'node20',
    emptyOutDir: true,
    rollupOptions: {
      external: ['webgpu', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { entryFileNames: 'exprl.js', format: 'es' },
    },
  },
  ssr: { noExternal: true, external: ['webgpu'] },
  logLevel: 'warn',
});
