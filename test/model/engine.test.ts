// The engine the worker exposes: built-in policy, scoring, sampling, SFT steps with progress
// events, and a save/load round trip through Hugging Face folder files. In the browser project
// the same calls also go through the real module worker and comlink.
import { testGpu, testPlatform } from '#test-gpu';
import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { MemoryChoiceStore } from '../../src/gpu/autotune';
import type { EngineApi, EngineEvent } from '../../src/worker/api';
import { Engine } from '../../src/worker/engine';

const platform: string = testPlatform;

describe('Engine', () => {
  it('creates, scores, samples, trains, saves and reloads a policy', async () => {
    const gpu = await testGpu();
    const engine = new Engine(async () => gpu, new MemoryChoiceStore());
    const status = await engine.init();
    expect(status.kernels.matmul.length).toBeGreaterThan(0);
    await expect(engine.tokenLogprobs('x')).rejects.toThrow(/no policy loaded/);
    const info = await engine.createBuiltinPolicy(3);
    expect(info.parameters).toBeGreaterThan(100_000);
    expect(info.parameters).toBeLessThan(1_000_000);

    const scored = await engine.tokenLogprobs('2+3=5');
    expect(scored.logprobs.length).toBe(scored.tokens.length - 1);
    const samples = await engine.sample('2+3=', { n: 2, temperature: 0.8, seed: 1, maxTokens: 4 });
    expect(samples.length).toBe(2);

    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const examples = [
      { prompt: '2+3=', response: '5' },
      { prompt: '4+4=', response: '8' },
      { prompt: '1+2=', response: '3' },
    ];
    const settings = { lr: 3e-3, maxNorm: 1, weightDecay: 0, microBatch: 2, seqLen: 8 };
    const first = await engine.sftStep(examples, settings);
    let last = first;
    for (let i = 0; i < 8; i++) last = await engine.sftStep(examples, settings);
    expect(first.tokens).toBe(3);
    expect(last.loss).toBeLessThan(first.loss);
    expect(events.filter((e) => e.type === 'train-step').map((e) => (e.type === 'train-step' ? e.step : -1))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const files = await engine.savePolicy();
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const before = await engine.tokenLogprobs('2+3=5');
    const other = new Engine(async () => gpu, new MemoryChoiceStore());
    await other.init();
    const loadEvents: EngineEvent[] = [];
    other.onEvent((e) => loadEvents.push(e));
    await other.loadPolicy(files, 'saved policy');
    expect((await other.tokenLogprobs('2+3=5')).logprobs).toEqual(before.logprobs);
    expect(loadEvents.some((e) => e.type === 'load')).toBe(true);
  });

  it.skipIf(platform !== 'browser')('answers through the module worker and comlink', async () => {
    const worker = new Worker(new URL('../../src/worker/engine.worker.ts', import.meta.url), { type: 'module' });
    const engine = Comlink.wrap<EngineApi>(worker);
    try {
      const status = await engine.init();
      expect(status.adapter.description.length).toBeGreaterThan(0);
      await engine.createBuiltinPolicy(1);
      const r = await engine.tokenLogprobs('hello');
      expect(r.tokens.length).toBe(5);
      for (const lp of r.logprobs) expect(lp).toBeLessThanOrEqual(0);
      await expect(engine.tokenLogprobs('\u00e9')).rejects.toThrow(/é/);
    } finally {
      worker.terminate();
    }
  });
});
