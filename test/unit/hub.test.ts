import { describe, expect, it } from 'vitest';
import { tinyParams, tinyTokenizer, TINY_VARIANTS } from '../../scripts/make-tiny-model';
import { loadCheckpoint, memoryFiles, memoryWriter, saveCheckpoint } from '../../src/model/checkpoint';
import { downloadModel, hubFileUrl, type DownloadProgress, type FetchFn } from '../../src/model/hub';
import { fakeHub } from '../support/fake-hub';

async function modelFiles(variantIndex: number): Promise<Map<string, Uint8Array>> {
  const v = TINY_VARIANTS[variantIndex];
  const w = memoryWriter();
  await saveCheckpoint(w, v.config, tinyParams(v.config, 11), tinyTokenizer(v.config.vocabSize).files(), { dtype: v.dtype, maxShardBytes: v.maxShardBytes });
  return w.files;
}

describe('Hugging Face Hub', () => {
  it('builds file URLs and refuses ids or names that would leave the model', () => {
    expect(hubFileUrl('HuggingFaceTB/SmolLM2-135M', 'config.json')).toBe('https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/config.json');
    expect(hubFileUrl('gpt2', 'onnx/model.onnx', 'refs/pr/1', 'http://localhost:8080/')).toBe('http://localhost:8080/gpt2/resolve/refs%2Fpr%2F1/onnx/model.onnx');
    expect(hubFileUrl('a/b', 'x y#.json')).toBe('https://huggingface.co/a/b/resolve/main/x%20y%23.json');
    for (const bad of ['../x', 'a/b/c', '', 'a/', '/a', 'a/..b', 'a b/c']) expect(() => hubFileUrl(bad, 'config.json'), bad).toThrow(/must look like "owner\/name"/);
    for (const bad of ['', '../config.json', 'a//b', 'a/./b']) expect(() => hubFileUrl('a/b', bad), bad).toThrow(/not a plain relative path/);
  });

  it('downloads a single-file model with byte progress, and the files load', async () => {
    const files = await modelFiles(0);
    const hub = fakeHub({ 'me/tiny': files });
    const events: DownloadProgress[] = [];
    const got = await downloadModel('me/tiny', hub.fetchFn, (p) => events.push({ ...p }), { token: 'hf_x' });
    expect(hub.requests.map((r) => r.url.split('/').pop())).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(hub.requests.every((r) => r.auth === 'Bearer hf_x')).toBe(true);
    expect([...got.files.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [n, b] of files) expect(got.files.get(n), n).toEqual(b);
    const weights = events.filter((e) => e.file === 'model.safetensors');
    const size = (files.get('model.safetensors') as Uint8Array).length;
    expect(weights.length).toBeGreaterThan(Math.ceil(size / 1000));
    expect(weights.every((e) => e.total === size)).toBe(true);
    expect(weights.map((e) => e.loaded)).toEqual([...weights.map((e) => e.loaded)].sort((a, b) => a - b));
    const last = events[events.length - 1];
    expect(last.loadedAll).toBe([...files.values()].reduce((a, b) => a + b.length, 0));
    expect(last.filesDone).toBe(4);
    expect(last.filesKnown).toBe(4);
    const loaded = await loadCheckpoint(memoryFiles(got.files, 'me/tiny'));
    expect(loaded.config).toEqual(TINY_VARIANTS[0].config);
  });

  it('downloads a sharded model through its index', async () => {
    const files = await modelFiles(1);
    const hub = fakeHub({ 'me/sharded': files }, { chunk: 777 });
    const got = await downloadModel('me/sharded', hub.fetchFn);
    const names = hub.requests.map((r) => r.url.split('/').pop());
    expect(names.slice(0, 3)).toEqual(['config.json', 'model.safetensors', 'model.safetensors.index.json']);
    expect(names.filter((n) => n?.startsWith('model-'))).toEqual([1, 2, 3, 4, 5, 6].map((i) => `model-0000${i}-of-00006.safetensors`));
    expect(hub.requests.every((r) => r.auth === null)).toBe(true);
    const loaded = await loadCheckpoint(memoryFiles(got.files));
    const want = tinyParams(TINY_VARIANTS[1].config, 11);
    expect(loaded.params.size).toBe(want.size);
    expect([...loaded.storedDtypes]).toEqual(['BF16']);
  });

  it('a missing tokenizer_config.json is fine; a missing tokenizer.json is not', async () => {
    const files = await modelFiles(0);
    files.delete('tokenizer_config.json');
    const got = await downloadModel('me/tiny', fakeHub({ 'me/tiny': files }).fetchFn);
    expect(got.files.has('tokenizer_config.json')).toBe(false);
    files.delete('tokenizer.json');
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': files }).fetchFn)).rejects.toThrow(/GET https:\/\/huggingface\.co\/me\/tiny\/resolve\/main\/tokenizer\.json failed: HTTP 404 Not Found/);
  });

  it('errors name the URL and the HTTP status', async () => {
    const files = await modelFiles(0);
    const status = (file: string, code: number, text = ''): ((f: string) => Response | undefined) => (f) => (f === file ? new Response('x', { status: code, statusText: text }) : undefined);
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': files }, { override: status('config.json', 500, 'Internal Server Error') }).fetchFn)).rejects.toThrow(
      'GET https://huggingface.co/me/tiny/resolve/main/config.json failed: HTTP 500 Internal Server Error',
    );
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': files }, { override: status('config.json', 401) }).fetchFn)).rejects.toThrow(/config\.json failed: HTTP 401 \(gated or private model/);
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': files }, { override: status('model.safetensors', 503) }).fetchFn)).rejects.toThrow(/model\.safetensors failed: HTTP 503/);
    await expect(downloadModel('someone/else', fakeHub({ 'me/tiny': files }).fetchFn)).rejects.toThrow(/someone\/else\/resolve\/main\/config\.json failed: HTTP 404/);
    const throwing: FetchFn = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(downloadModel('me/tiny', throwing)).rejects.toThrow('GET https://huggingface.co/me/tiny/resolve/main/config.json failed: fetch failed');
    const noWeights = new Map(files);
    noWeights.delete('model.safetensors');
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': noWeights }).fetchFn)).rejects.toThrow(/me\/tiny@main: neither model\.safetensors nor model\.safetensors\.index\.json exists/);
  });

  it('a body shorter than its Content-Length is a cut-short download; a bad index is refused', async () => {
    const files = await modelFiles(0);
    const short = (f: string): Response | undefined =>
      f === 'model.safetensors' ? new Response((files.get(f) as Uint8Array).slice(0, 100), { headers: { 'content-length': String((files.get(f) as Uint8Array).length) } }) : undefined;
    await expect(downloadModel('me/tiny', fakeHub({ 'me/tiny': files }, { override: short }).fetchFn)).rejects.toThrow(/model\.safetensors: received 100 of \d+ bytes \(Content-Length\): download cut short/);
    const sharded = await modelFiles(1);
    sharded.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ weight_map: { 'model.norm.weight': '../../secret.safetensors' } })));
    await expect(downloadModel('me/s', fakeHub({ 'me/s': sharded }).fetchFn)).rejects.toThrow(/model\.safetensors\.index\.json: tensor "model\.norm\.weight" maps to "\.\.\/\.\.\/secret\.safetensors"/);
    sharded.set('model.safetensors.index.json', new TextEncoder().encode('{'));
    await expect(downloadModel('me/s', fakeHub({ 'me/s': sharded }).fetchFn)).rejects.toThrow(/model\.safetensors\.index\.json: not valid JSON/);
    // Without Content-Length (or with a content coding) there is no total to check against.
    const noLength = (f: string): Response | undefined => (f === 'config.json' ? new Response(files.get(f) as Uint8Array<ArrayBuffer>, { headers: { 'content-encoding': 'gzip', 'content-length': '3' } }) : undefined);
    const got = await downloadModel('me/tiny', fakeHub({ 'me/tiny': files }, { override: noLength }).fetchFn);
    expect(got.files.get('config.json')).toEqual(files.get('config.json'));
  });
});
