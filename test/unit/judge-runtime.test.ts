// Which runtime runs a "local" judge model, and the Hub probe that decides it without
// downloading weights.
import { describe, expect, it } from 'vitest';
import { probeHubModel, type FetchFn } from '../../src/model/hub';
import { toHfConfig } from '../../src/model/config';
import { chooseJudgeRuntime } from '../../src/rl/run-judge';
import { fakeHub } from '../support/fake-hub';
import { tinyConfig } from '../support/tiny-config';

const llama = toHfConfig(tinyConfig());
const gpt2 = { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_layer: 1 };

describe('chooseJudgeRuntime', () => {
  it('takes a named runtime as it is, without looking at the model', () => {
    expect(chooseJudgeRuntime('kernels', undefined)).toEqual({ runtime: 'kernels', why: 'judge.runtime is "kernels"' });
    expect(chooseJudgeRuntime('transformers', undefined)).toEqual({ runtime: 'transformers', why: 'judge.runtime is "transformers"' });
  });

  it('"auto": our kernels for a Llama-layout model with safetensors, transformers.js otherwise, saying why', () => {
    expect(chooseJudgeRuntime('auto', { config: llama, safetensors: true })).toEqual({ runtime: 'kernels', why: 'it is a Llama-layout model with safetensors weights' });
    expect(chooseJudgeRuntime('auto', { config: llama, safetensors: false })).toEqual({ runtime: 'transformers', why: 'it is Llama-layout but has no safetensors weights for our kernels' });
    const other = chooseJudgeRuntime('auto', { config: gpt2, safetensors: true });
    expect(other.runtime).toBe('transformers');
    expect(other.why).toMatch(/^our kernels cannot run it \(config\.json: architecture \["GPT2LMHeadModel"\] is not supported/);
    const scaled = chooseJudgeRuntime('auto', { config: { ...llama, rope_scaling: { type: 'yarn' } }, safetensors: true });
    expect(scaled).toEqual({ runtime: 'transformers', why: 'our kernels cannot run it (config.json: rope_scaling is not supported)' });
    expect(() => chooseJudgeRuntime('auto', undefined)).toThrow(/needs the model's config\.json/);
  });
});

describe('probeHubModel', () => {
  const base = 'https://huggingface.co/o/m/resolve/main/';
  /** A Hub whose files answer with the given status (200 with `body` for config.json, 404 unless listed). */
  const hub = (status: Record<string, number>, body = JSON.stringify(gpt2)): { fetchFn: FetchFn; calls: string[] } => {
    const files = new Map(Object.keys(status).map((f) => [f, new TextEncoder().encode(f === 'config.json' ? body : 'weights')]));
    const h = fakeHub({ 'o/m': files }, { override: (f) => (f in status && status[f] !== 200 ? new Response(null, { status: status[f] }) : undefined) });
    return {
      fetchFn: h.fetchFn,
      get calls() {
        return h.requests.map((r) => `${r.method} ${r.url.slice(base.length)}`);
      },
    };
  };

  it('reads config.json and asks for the safetensors files by HEAD only', async () => {
    const h = hub({ 'config.json': 200, 'model.safetensors': 200 });
    expect(await probeHubModel('o/m', h.fetchFn)).toEqual({ config: gpt2, safetensors: true });
    expect(h.calls).toEqual(['GET config.json', 'HEAD model.safetensors']);
    const sharded = hub({ 'config.json': 200, 'model.safetensors.index.json': 200 });
    expect((await probeHubModel('o/m', sharded.fetchFn)).safetensors).toBe(true);
    expect(sharded.calls).toEqual(['GET config.json', 'HEAD model.safetensors', 'HEAD model.safetensors.index.json']);
    expect((await probeHubModel('o/m', hub({ 'config.json': 200 }).fetchFn)).safetensors).toBe(false);
  });

  it('names the URL and the reason when it cannot tell', async () => {
    await expect(probeHubModel('o/m', hub({}).fetchFn)).rejects.toThrow(`GET ${base}config.json failed: HTTP 404`);
    await expect(probeHubModel('o/m', hub({ 'config.json': 401 }).fetchFn)).rejects.toThrow(/HTTP 401 \(gated or private model: an access token is needed\)/);
    await expect(probeHubModel('o/m', hub({ 'config.json': 200 }, '{"a":').fetchFn)).rejects.toThrow(`${base}config.json: not valid JSON`);
    await expect(probeHubModel('o/m', hub({ 'config.json': 200 }, '[1]').fetchFn)).rejects.toThrow(`${base}config.json: must be a JSON object`);
    // A server error on the weights is not "no weights": the choice would be wrong.
    await expect(probeHubModel('o/m', hub({ 'config.json': 200, 'model.safetensors': 503 }).fetchFn)).rejects.toThrow(`HEAD ${base}model.safetensors failed: HTTP 503`);
    const offline: FetchFn = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(probeHubModel('o/m', offline)).rejects.toThrow(`GET ${base}config.json failed: fetch failed`);
    await expect(probeHubModel('../m', offline)).rejects.toThrow(/must look like "owner\/name"/);
  });
});
