// A judge model in an architecture our kernels do not run, through transformers.js: a tiny
// ONNX bigram model (test/support/onnx-judge-repo.ts) served as a Hub repo. In Chromium it runs on
// onnxruntime-web (WebGPU) with the wasm files served by the app; in Node on onnxruntime-node.
import { testPlatform } from '#test-gpu';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { judgeFromSettings } from '../../src/judge/from-config';
import { probeHubModel, type DownloadProgress } from '../../src/model/hub';
import { openTransformersChat } from '../../src/model/transformers-chat';
import { preset } from '../../src/rl/config';
import { openLocalJudge } from '../../src/rl/run-judge';
import { nodeTempPath, removeNodePath } from '../support/node-temp';
import { fakeHub } from '../support/fake-hub';
import { onnxJudgeRepo } from '../support/onnx-judge-repo';

const platform: string = testPlatform;
/** Node: a fresh file cache per test file (onnxruntime-node loads models from files). */
const cacheDir = nodeTempPath('exprl-transformers-test');
afterAll(() => removeNodePath(cacheDir));

/** Every URL the page's own fetch is asked for while a test runs (the wasm files, in Chromium). */
let pageFetches: string[] = [];
const realFetch = globalThis.fetch;
beforeEach(() => {
  pageFetches = [];
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    pageFetches.push(input instanceof Request ? input.url : String(input));
    return realFetch(input, init);
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe('transformers.js judge model', () => {
  it('replies greedily through the chat template, as one batch, with download progress', async () => {
    const repo = onnxJudgeRepo('Score: 4');
    const hub = fakeHub({ 'tiny/onnx-judge-a': repo });
    const progress: DownloadProgress[] = [];
    const chat = await openTransformersChat({
      modelId: 'tiny/onnx-judge-a',
      maxTokens: 8,
      dtype: 'fp32',
      fetchFn: hub.fetchFn,
      cacheDir,
      onProgress: (p) => progress.push(p),
    });
    try {
      expect(chat.runtime).toMatch(platform === 'node' ? /^transformers\.js \S+, cpu, fp32$/ : /^transformers\.js \S+, webgpu, fp32$/);
      // Prompts of different lengths decode as one left-padded batch; the template's generation
      // prompt is what makes the bigram model answer (a raw prompt would get an empty reply).
      expect(await chat.generate(['short', 'a much longer prompt than the first one, so the batch is padded'])).toEqual(['Score: 4', 'Score: 4']);
      expect(await chat.generate([])).toEqual([]);
      const stop = new AbortController();
      stop.abort(new Error('stopped by the test'));
      await expect(chat.generate(['x'], stop.signal)).rejects.toThrow(/stopped by the test/);
    } finally {
      await chat.release();
    }
    // Progress in downloadModel's shape: every file of the repo, its bytes counted.
    const model = repo.get('onnx/model.onnx')!.length;
    const last = progress[progress.length - 1];
    expect(new Set(progress.map((p) => p.file))).toEqual(new Set(['tokenizer.json', 'tokenizer_config.json', 'config.json', 'onnx/model.onnx']));
    expect(progress.some((p) => p.file === 'onnx/model.onnx' && p.loaded === model && p.total === model)).toBe(true);
    expect(progress.find((p) => p.file === 'onnx/model.onnx')!.url).toBe('https://huggingface.co/tiny/onnx-judge-a/resolve/main/onnx/model.onnx');
    expect(last.filesDone).toBe(last.filesKnown);
    expect(last.loadedAll).toBeGreaterThanOrEqual(model);
    for (let i = 1; i < progress.length; i++) expect(progress[i].loadedAll).toBeGreaterThanOrEqual(progress[i - 1].loadedAll);
    // Only the Hub's files through the injected fetch; onnxruntime's wasm from the app itself.
    expect(hub.requests.every(({ url }) => url.startsWith('https://huggingface.co/tiny/onnx-judge-a/resolve/main/'))).toBe(true);
    if (platform === 'browser') {
      // (Fetched on the page's first use; later ones may read transformers.js's wasm cache.)
      const { env } = await import('@huggingface/transformers');
      const paths = env.backends.onnx.wasm?.wasmPaths as { wasm: string } | undefined;
      expect(paths?.wasm).toMatch(new RegExp(`^${location.origin}/.*ort-wasm-simd-threaded\\.asyncify.*\\.wasm$`));
      expect(pageFetches.filter((u) => !u.startsWith(location.origin))).toEqual([]);
    }
  });

  it('stops a reply at maxTokens, and refuses a prompt longer than the model takes', async () => {
    const chat = await openTransformersChat({ modelId: 'tiny/onnx-judge-b', maxTokens: 3, dtype: 'fp32', fetchFn: fakeHub({ 'tiny/onnx-judge-b': onnxJudgeRepo('Score: 2', 64) }).fetchFn, cacheDir });
    try {
      expect(await chat.generate(['anything'])).toEqual(['Sco']);
      await expect(chat.generate(['short', 'x'.repeat(80)])).rejects.toThrow(/^judge prompt 1 is 89 tokens; the judge model tiny\/onnx-judge-b takes 64 \(tokenizer_config\.json model_max_length\)$/);
    } finally {
      await chat.release();
    }
  });

  it('refuses a model without a chat template, and a missing model, naming it', async () => {
    const repo = onnxJudgeRepo();
    const config = JSON.parse(new TextDecoder().decode(repo.get('tokenizer_config.json')));
    delete config.chat_template;
    repo.set('tokenizer_config.json', new TextEncoder().encode(JSON.stringify(config)));
    const hub = fakeHub({ 'tiny/no-template': repo }).fetchFn;
    await expect(openTransformersChat({ modelId: 'tiny/no-template', maxTokens: 4, dtype: 'fp32', fetchFn: hub, cacheDir })).rejects.toThrow(/judge model tiny\/no-template has no chat template/);
    await expect(openTransformersChat({ modelId: 'tiny/missing', maxTokens: 4, dtype: 'fp32', fetchFn: hub, cacheDir })).rejects.toThrow(/could not load the judge model tiny\/missing/);
  });

  it('is chosen by judge.runtime "auto" for a model our kernels cannot run, and scores as a judge', async () => {
    const hub = fakeHub({ 'tiny/onnx-judge-c': onnxJudgeRepo('Score: 4') }).fetchFn;
    const j = { ...preset('small').judge, kind: 'local' as const, model: 'tiny/onnx-judge-c', maxTokens: 8, runtime: 'auto' as const, dtype: 'fp32' as const };
    const m = await openLocalJudge(j, {
      probe: (id) => probeHubModel(id, hub),
      kernels: () => Promise.reject(new Error('our kernels must not be asked')),
      transformers: (id, o) => openTransformersChat({ modelId: id, ...o, fetchFn: hub, cacheDir }),
    });
    try {
      expect(m.note).toMatch(/^judge model tiny\/onnx-judge-c runs on transformers\.js .*: our kernels cannot run it \(config\.json: architecture \["GPT2LMHeadModel"\] is not supported/);
      const judge = judgeFromSettings(j, { generate: m.generate });
      const item = { question: 'What is 2 + 3?', reference: '2 + 3 = 5\nAnswer: 5' };
      const outcome = await judge.outcome({ ...item, trace: '2 + 3 = 5\nAnswer: 5' });
      expect(outcome).toMatchObject({ ok: true, score: 4, value: 0.75, raw: 'Score: 4' });
      const steps = await judge.process({ ...item, segments: ['2 + 3 = 5\n', 'Answer: 5'], view: 'segment' });
      expect(steps.map((s) => (s.ok ? s.value : null))).toEqual([0.75, 0.75]);
    } finally {
      await m.release();
    }
  });
});
