// Every WGSL entry point in shaders/ has a wrapper, a float64 reference file and a GPU test that
// names it; the GPU test files are the ones the `gpu` (Chromium) and `gpu-node` projects run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const shaderFiles = readdirSync(join(root, 'shaders')).filter((f) => f.endsWith('.wgsl'));

/** Entry points: functions carrying @compute (attributes may sit on the lines before `fn`). */
export function entryPoints(wgsl: string): string[] {
  const code = wgsl.replace(/\/\/[^\n]*/g, '');
  return [...code.matchAll(/@compute[^{;]*?\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
}

describe('kernel coverage', () => {
  it('finds the shaders', () => {
    expect(shaderFiles.length).toBeGreaterThan(0);
    expect(entryPoints('@compute @workgroup_size(1)\nfn a() {}\nfn helper() {}\n// @compute fn b()\n@compute\n@workgroup_size(2) fn c() {}')).toEqual(['a', 'c']);
  });

  describe.each(shaderFiles)('%s', (file) => {
    const family = file.replace(/\.wgsl$/, '');
    const wgsl = readFileSync(join(root, 'shaders', file), 'utf8');
    const entries = entryPoints(wgsl);

    it('starts with a header comment', () => {
      expect(wgsl.trimStart().startsWith('//')).toBe(true);
      expect(entries.length).toBeGreaterThan(0);
    });

    it('has a wrapper, a reference and a GPU test naming every entry point', () => {
      const wrapper = join(root, 'src', 'gpu', 'ops', `${family}.ts`);
      const reference = join(root, 'test', 'reference', `${family}.ts`);
      const gpuTest = join(root, 'test', 'kernels', `${family}.test.ts`);
      expect(existsSync(wrapper), `missing ${wrapper}`).toBe(true);
      expect(existsSync(reference), `missing ${reference}`).toBe(true);
      expect(existsSync(gpuTest), `missing ${gpuTest}`).toBe(true);
      const wrapperText = readFileSync(wrapper, 'utf8');
      const testText = readFileSync(gpuTest, 'utf8');
      for (const e of entries) {
        expect(wrapperText.includes(`'${e}'`), `${family}.ts does not define a kernel for ${e}`).toBe(true);
        expect(new RegExp(`\\b${e}\\b`).test(testText), `${gpuTest} never names ${e}`).toBe(true);
      }
    });
  });
});
