// The engine the worker exposes: built-in policy, scoring, sampling, SFT steps with progress
// events, and a save/load round trip through Hugging Face folder files. In the browser project
// the same calls also go through the real module worker and comlink.
import { testGpu, testPlatform } from '#test-gpu';
import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { MemoryChoiceStore } from '../../src/gpu/autotune';
import type { EngineApi, EngineEvent } from '../../src/worker/api';
import { Engine } from '../../src/worker/engine';
import { memoryWriter, saveCheckpoint } from '../../src/model/checkpoint';
import { initParams } from '../../src/model/params';
import { HfTokenizer } from '../../src/model/tokenizer';
import { preset, resolveConfig, type DeepPartial, type RunConfig } from '../../src/rl/config';
import { BPE_VOCAB_SIZE, bpeTokenizerConfig, bpeTokenizerJson } from '../support/bpe-tokenizer';
import { tinyConfig } from '../support/tiny-config';
import { nodeTempPath, removeNodePath } from '../support/node-temp';
import { fakeHub } from '../support/fake-hub';
import { onnxJudgeRepo } from '../support/onnx-judge-repo';

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

/** The tiny preset cut to one ExpRL-Outcome step on the loaded policy, one eval prompt, with this judge. */
function oneOutcomeStep(judge: DeepPartial<RunConfig['judge']>): RunConfig {
  const c = preset('tiny');
  c.pretrain.steps = 0;
  c.stages = [{ ...c.stages[0], method: 'exprl-outcome', steps: 1, maxResponseTokens: 8 }];
  c.tasks.evalPrompts = 1;
  c.eval = { ...c.eval, n: 1, k: [1], maxResponseTokens: 4 };
  return resolveConfig(c, { policy: 'loaded-in-page', judge });
}

describe('Engine runs', () => {
  it('runs with a local judge model fetched from the Hub into its own slot, with progress, and ends with run-end', async () => {
    const gpu = await testGpu();
    // A tiny instruct model (byte-level BPE with a ChatML template) served as a Hub repo from memory.
    const tok = new HfTokenizer(bpeTokenizerJson(), bpeTokenizerConfig(), 'bpe/tokenizer.json');
    const jc = tinyConfig({ vocabSize: BPE_VOCAB_SIZE, maxSeqLen: 320, eosTokenId: tok.eosId });
    const writer = memoryWriter('judge');
    await saveCheckpoint(writer, jc, initParams(jc, 4, 0.5), tok.files());
    const engine = new Engine(async () => gpu, new MemoryChoiceStore(), undefined, fakeHub({ 'tiny/judge': writer.files }).fetchFn);
    await engine.init();
    await engine.createBuiltinPolicy(2);
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const config = oneOutcomeStep({ kind: 'local', model: 'tiny/judge', maxTokens: 4 });
    const summary = await engine.startRun(config, 'current');
    // A random judge rarely writes "Score: N": its rollouts are masked (the run may pause), never
    // scored 0. Its calls may also fail outright (the longer probe prompts exceed its 320 tokens),
    // and 8 failures in a row open the judge's circuit breaker: the run pauses before step 1.
    expect(['finished', 'paused']).toContain(summary.status);
    if (summary.status === 'paused') expect(summary.reason).toMatch(/masked by judge failures .* parse failure|failed 8 calls in a row \(judge\.breakerAfter 8\)/);
    expect(events.some((e) => e.type === 'download' && e.progress.file === 'model.safetensors')).toBe(true);
    expect(events.some((e) => e.type === 'run-note' && e.message.startsWith('judge-hacking probes against local:tiny/judge'))).toBe(true);
    expect(events[events.length - 1]).toEqual({ type: 'run-end', summary });
    // A missing judge model fails the run with the reason, in the run-end event too.
    const bad = resolveConfig(config, { judge: { model: 'tiny/missing' } });
    await expect(engine.startRun(bad, 'current')).rejects.toThrow(/tiny\/missing.*404/);
    const end = events[events.length - 1];
    expect(end.type === 'run-end' && end.summary === null && /404/.test(end.error ?? '')).toBe(true);
  });

  it('runs with a judge model our kernels cannot run through transformers.js, chosen by judge.runtime "auto"', async () => {
    const gpu = await testGpu();
    const hub = fakeHub({ 'tiny/onnx-run-judge': onnxJudgeRepo('Score: 4') });
    // Node: a fresh file cache, so the model is downloaded (the browser's profile is fresh per run).
    const cacheDir = nodeTempPath('exprl-engine-test');
    const engine = new Engine(async () => gpu, new MemoryChoiceStore(), undefined, hub.fetchFn, cacheDir);
    await engine.init();
    await engine.createBuiltinPolicy(2);
    // A few SFT steps on one-character answers: the policy learns to stop, so its rollouts end
    // before the length cut (a cut rollout gets reward 0 without a judge call).
    const short = ['2+3=', 'What is 7?', 'Start with 7, add 9.', '642 + 536', 'x'].map((prompt) => ({ prompt, response: '4<eos>' }));
    for (let i = 0; i < 12; i++) await engine.sftStep(short, { lr: 1e-2, maxNorm: 1, weightDecay: 0, microBatch: 5, seqLen: 32 });
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const config = oneOutcomeStep({ kind: 'local', model: 'tiny/onnx-run-judge', maxTokens: 8, runtime: 'auto', dtype: 'fp32' });
    const summary = await engine.startRun(config, 'current');
    expect(summary.status).toBe('finished');
    const notes = events.flatMap((e) => (e.type === 'run-note' ? [e.message] : []));
    expect(notes[0]).toMatch(/^judge model tiny\/onnx-run-judge runs on transformers\.js \S+, (webgpu|cpu), fp32: our kernels cannot run it/);
    expect(notes[1]).toMatch(/^judge-hacking probes against local:tiny\/onnx-run-judge/);
    expect(events.some((e) => e.type === 'download' && e.progress.file === 'onnx/model.onnx' && e.progress.loaded > 0)).toBe(true);
    // The model answers "Score: 4" to everything: every rollout that ends gets (4 - 1) / 4, none is masked.
    const step = events.find((e) => e.type === 'run-metrics' && (e.line as { stage?: number }).stage === 1);
    expect(step?.type === 'run-metrics' && step.line).toMatchObject({ masked: 0, judge_failures: 0 });
    const batch = events.find((e) => e.type === 'run-rollouts');
    const judged = batch?.type === 'run-rollouts' ? batch.batch.rollouts.filter((r) => !r.cut) : [];
    expect(judged.length).toBeGreaterThan(0);
    for (const r of judged) expect(r).toMatchObject({ reward: 0.75, masked: false, segments: [{ score: 0.75 }] });
    // "auto" looked at config.json and the safetensors weights (HEAD), then transformers.js fetched the ONNX files.
    const asked = hub.requests.map((r) => `${r.method} ${r.url}`);
    expect(asked.slice(0, 2)).toEqual(['GET https://huggingface.co/tiny/onnx-run-judge/resolve/main/config.json', 'HEAD https://huggingface.co/tiny/onnx-run-judge/resolve/main/model.safetensors']);
    expect(asked).toContain('GET https://huggingface.co/tiny/onnx-run-judge/resolve/main/onnx/model.onnx');
    expect(events[events.length - 1]).toEqual({ type: 'run-end', summary });
    await removeNodePath(cacheDir);
  });
});
