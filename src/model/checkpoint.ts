/**
 * Checkpoints as Hugging Face folders: `config.json` (LlamaForCausalLM), the weights in
 * `model.safetensors` or in shards `model-0000i-of-0000n.safetensors` listed by
 * `model.safetensors.index.json`, `tokenizer.json` and `tokenizer_config.json`.
 *
 * Files are reached through two small interfaces (`CheckpointFiles` to read byte ranges,
 * `CheckpointWriter` to write), so the same code serves a Node folder, files held in memory
 * (a Hub download), and a browser's File objects or origin-private file system. Weights are read
 * one tensor at a time by byte range, so loading never holds a whole bf16 file next to its
 * float32 copy.
 *
 * Loading checks every tensor `paramList(config)` names: present, the right shape, a float dtype
 * (F32 as is; BF16 and F16 widened exactly). Tensors the model does not use are an error, except
 * rotary `inv_freq` buffers (recomputed from the config; reported in `warnings`) and, for a tied
 * model, an `lm_head.weight` bit-identical to the embedding (some exporters write both).
 */
import { fromHfConfig, toHfConfig, validateConfig, type ModelConfig } from './config';
import { paramList } from './layout';
import { decodeFloat32, encodeSafetensors, FLOAT_DTYPES, readSafetensorsHeader, type FloatDType, type SafetensorsDType, type SafetensorsTensorInfo } from './safetensors';

/** Read access to the files of one checkpoint folder, by file name. */
export interface CheckpointFiles {
  /** Shown in error messages (a folder path, "Hub model X", "selected files"). */
  readonly where: string;
  /** Size in bytes, or undefined when there is no such file. */
  size(name: string): Promise<number | undefined>;
  /** Bytes [start, end) of a file. */
  read(name: string, start: number, end: number): Promise<Uint8Array>;
}

/** Write access to a checkpoint folder. */
export interface CheckpointWriter {
  readonly where: string;
  /** Writes (replaces) a whole file from its parts, in order. */
  write(name: string, parts: readonly Uint8Array[]): Promise<void>;
  /** Optional: the folder's file names and removal, used to delete stale weight files. */
  list?(): Promise<string[]>;
  remove?(name: string): Promise<void>;
}

/** The tokenizer files as parsed JSON objects. */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig?: Record<string, unknown>;
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** HF's shard names: model-00001-of-00003.safetensors. */
export function shardName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

const SHARD_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Buffers some exporters save that the model recomputes from its config. */
const IGNORABLE_TENSOR = /(^|\.)rotary_emb\.inv_freq$/;

function toBytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function jsonBytes(v: unknown): Uint8Array {
  return toBytes(JSON.stringify(v, null, 2) + '\n');
}

/** Files held in memory (a Hub download, a test). */
export function memoryFiles(files: ReadonlyMap<string, Uint8Array>, where = 'in-memory checkpoint'): CheckpointFiles {
  return {
    where,
    size: async (name) => files.get(name)?.length,
    read: async (name, start, end) => {
      const f = files.get(name);
      if (f === undefined) throw new Error(`${where}: no file ${name}`);
      return f.subarray(start, end);
    },
  };
}

/** A writer that keeps files in memory. */
export function memoryWriter(where = 'in-memory checkpoint'): CheckpointWriter & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    where,
    files,
    write: async (name, parts) => {
      const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let pos = 0;
      for (const p of parts) {
        out.set(p, pos);
        pos += p.length;
      }
      files.set(name, out);
    },
    list: async () => [...files.keys()],
    remove: async (name) => void files.delete(name),
  };
}

/** Blobs by name: File objects the user picked (their own names), or OPFS file handles' files. */
export function blobFiles(files: Iterable<File> | ReadonlyMap<string, Blob>, where = 'selected files'): CheckpointFiles {
  const byName = files instanceof Map ? new Map(files) : new Map([...(files as Iterable<File>)].map((f) => [f.name, f as Blob]));
  return {
    where,
    size: async (name) => byName.get(name)?.size,
    read: async (name, start, end) => {
      const b = byName.get(name);
      if (b === undefined) throw new Error(`${where}: no file ${name}`);
      return new Uint8Array(await b.slice(start, end).arrayBuffer());
    },
  };
}

/** A folder on disk (Node only: node:fs is imported on first use, so browsers never load it). */
export function nodeFolder(dir: string): CheckpointFiles & CheckpointWriter {
  const fs = () => import('node:fs/promises');
  const path = (name: string): string => `${dir.replace(/\/+$/, '')}/${name}`;
  return {
    where: dir,
    async size(name) {
      try {
        const st = await (await fs()).stat(path(name));
        return st.isFile() ? st.size : undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async read(name, start, end) {
      const fh = await (await fs()).open(path(name), 'r');
      try {
        const out = new Uint8Array(end - start);
        let got = 0;
        while (got < out.length) {
          const { bytesRead } = await fh.read(out, got, out.length - got, start + got);
          if (bytesRead === 0) throw new Error(`${path(name)}: file ended at byte ${start + got}, expected ${end}`);
          got += bytesRead;
        }
        return out;
      } finally {
        await fh.close();
      }
    },
    async write(name, parts) {
      const f = await fs();
      await f.mkdir(dir, { recursive: true });
      // Written beside and renamed into place, so a crash never leaves a half-written file under the real name.
      const tmp = `${path(name)}.partial`;
      const fh = await f.open(tmp, 'w');
      try {
        for (const p of parts) {
          let done = 0;
          while (done < p.length) done += (await fh.write(p, done, p.length - done)).bytesWritten;
        }
      } finally {
        await fh.close();
      }
      await f.rename(tmp, path(name));
    },
    async list() {
      try {
        return await (await fs()).readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    async remove(name) {
      await (await fs()).rm(path(name), { force: true });
    },
  };
}

async function readWhole(src: CheckpointFiles, name: string): Promise<Uint8Array | undefined> {
  const size = await src.size(name);
  if (size === undefined) return undefined;
  return src.read(name, 0, size);
}

async function readJson(src: CheckpointFiles, name: string, required: true): Promise<Record<string, unknown>>;
async function readJson(src: CheckpointFiles, name: string, required: false): Promise<Record<string, unknown> | undefined>;
async function readJson(src: CheckpointFiles, name: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  const bytes = await readWhole(src, name);
  if (bytes === undefined) {
    if (required) throw new Error(`${src.where}: missing ${name}`);
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new Error(`${src.where}/${name}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${src.where}/${name}: must be a JSON object`);
  return v as Record<string, unknown>;
}

/** The weight files of a folder: the single file when present (as transformers does), else the index's shards. */
async function weightFiles(src: CheckpointFiles): Promise<{ files: string[]; weightMap?: Map<string, string> }> {
  if ((await src.size(WEIGHTS_FILE)) !== undefined) return { files: [WEIGHTS_FILE] };
  const index = await readJson(src, WEIGHTS_INDEX_FILE, false);
  if (index === undefined) throw new Error(`${src.where}: no ${WEIGHTS_FILE} and no ${WEIGHTS_INDEX_FILE}`);
  const weightMap = parseWeightMap(index, `${src.where}/${WEIGHTS_INDEX_FILE}`);
  return { files: [...new Set(weightMap.values())].sort(), weightMap };
}

/** `weight_map` of a shard index, checked: shard names are plain `.safetensors` file names. */
export function parseWeightMap(index: Record<string, unknown>, where: string): Map<string, string> {
  const map = index.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${where}: weight_map must be an object`);
  const out = new Map<string, string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file) || file.startsWith('.')) {
      throw new Error(`${where}: tensor ${JSON.stringify(tensor)} maps to ${JSON.stringify(file)}, not a .safetensors file name in the same folder`);
    }
    out.set(tensor, file);
  }
  if (out.size === 0) throw new Error(`${where}: weight_map is empty`);
  return out;
}

export interface LoadProgress {
  tensor: string;
  /** Tensors read so far, of `total`. */
  done: number;
  total: number;
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  /** Every tensor of paramList(config), in that order, as float32. */
  params: Map<string, Float32Array>;
  /** Undefined when the folder has no tokenizer.json. */
  tokenizer: TokenizerFiles | undefined;
  /** The dtypes the weights were stored in (e.g. {'BF16'}). */
  storedDtypes: Set<FloatDType>;
  /** Things accepted but worth telling the user (ignored buffers, a missing tokenizer). */
  warnings: string[];
  /** The raw config.json, for fields the model config does not keep. */
  hfConfig: Record<string, unknown>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The first NaN or ±Infinity in `xs` and how many there are; null when every value is finite. */
export function firstNonFinite(xs: Float32Array): { index: number; value: number; count: number } | null {
  let first = -1;
  let count = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isFinite(xs[i])) continue;
    if (first < 0) first = i;
    count++;
  }
  return first < 0 ? null : { index: first, value: xs[first], count };
}

/** Loads a checkpoint folder (a Node path, or any `CheckpointFiles`); refuses a tensor holding NaN or ±Infinity. */
export async function loadCheckpoint(from: string | CheckpointFiles, onProgress?: (p: LoadProgress) => void): Promise<LoadedCheckpoint> {
  const src = typeof from === 'string' ? nodeFolder(from) : from;
  const warnings: string[] = [];
  const hfConfig = await readJson(src, CONFIG_FILE, true);
  const config = fromHfConfig(hfConfig, `${src.where}/${CONFIG_FILE}`);

  const { files, weightMap } = await weightFiles(src);
  const found = new Map<string, { file: string; info: SafetensorsTensorInfo }>();
  for (const file of files) {
    const where = `${src.where}/${file}`;
    const size = await src.size(file);
    if (size === undefined) throw new Error(`${src.where}: missing weight file ${file}${weightMap ? ` (listed in ${WEIGHTS_INDEX_FILE})` : ''}`);
    const header = await readSafetensorsHeader((s, e) => src.read(file, s, e), size, where);
    for (const info of header.tensors) {
      const prev = found.get(info.name);
      if (prev !== undefined) throw new Error(`${src.where}: tensor ${JSON.stringify(info.name)} is in both ${prev.file} and ${file}`);
      if (weightMap !== undefined && weightMap.get(info.name) !== file) {
        throw new Error(`${where}: tensor ${JSON.stringify(info.name)} is not listed for this file in ${WEIGHTS_INDEX_FILE} (listed: ${JSON.stringify(weightMap.get(info.name) ?? null)})`);
      }
      found.set(info.name, { file, info });
    }
  }
  if (weightMap !== undefined) {
    for (const [name, file] of weightMap) if (!found.has(name)) throw new Error(`${src.where}/${file}: tensor ${JSON.stringify(name)} listed in ${WEIGHTS_INDEX_FILE} is not in the file`);
  }

  const expected = paramList(config);
  const expectedNames = new Set(expected.map((p) => p.name));
  const checkTensor = (name: string, shape: readonly number[]): { file: string; info: SafetensorsTensorInfo } => {
    const t = found.get(name);
    if (t === undefined) throw new Error(`${src.where}: missing tensor ${JSON.stringify(name)} (expected shape [${shape.join(', ')}])`);
    const where = `${src.where}/${t.file}: tensor ${JSON.stringify(name)}`;
    if (!sameShape(t.info.shape, shape)) throw new Error(`${where}: expected shape [${shape.join(', ')}], got [${t.info.shape.join(', ')}]`);
    if (!(FLOAT_DTYPES as readonly SafetensorsDType[]).includes(t.info.dtype)) throw new Error(`${where}: expected dtype ${FLOAT_DTYPES.join(', ')}, got ${t.info.dtype}`);
    return t;
  };
  for (const p of expected) checkTensor(p.name, p.shape);

  const embedName = 'model.embed_tokens.weight';
  let tiedHead = false;
  const unknown: string[] = [];
  for (const name of found.keys()) {
    if (expectedNames.has(name)) continue;
    if (IGNORABLE_TENSOR.test(name)) warnings.push(`ignored tensor ${JSON.stringify(name)} (recomputed from rope_theta)`);
    else if (name === 'lm_head.weight' && config.tiedEmbeddings) tiedHead = true;
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
    throw new Error(`${src.where}: tensors the model does not use: ${unknown.slice(0, 5).map((n) => `"${n}"`).join(', ')}${more}`);
  }

  const read = async (name: string): Promise<Float32Array> => {
    const { file, info } = found.get(name) as { file: string; info: SafetensorsTensorInfo };
    const bytes = await src.read(file, info.byteOffset, info.byteOffset + info.byteLength);
    const values = decodeFloat32(info, bytes, `${src.where}/${file}`);
    const bad = firstNonFinite(values);
    // A NaN or infinite weight poisons every output; refuse the model instead of sampling nulls.
    if (bad !== null) throw new Error(`${src.where}/${file}: tensor ${JSON.stringify(name)} holds ${bad.count} non-finite value${bad.count === 1 ? '' : 's'} (the first, ${bad.value}, at flat index ${bad.index})`);
    return values;
  };
  const params = new Map<string, Float32Array>();
  const storedDtypes = new Set<FloatDType>();
  const total = expected.length + (tiedHead ? 1 : 0);
  let done = 0;
  for (const p of expected) {
    params.set(p.name, await read(p.name));
    storedDtypes.add(found.get(p.name)?.info.dtype as FloatDType);
    onProgress?.({ tensor: p.name, done: ++done, total });
  }
  if (tiedHead) {
    const head = checkTensor('lm_head.weight', [config.vocabSize, config.dModel]);
    if (!bitsEqual(await read('lm_head.weight'), params.get(embedName) as Float32Array)) {
      throw new Error(`${src.where}/${head.file}: tensor "lm_head.weight" differs from "${embedName}" but config.json says tie_word_embeddings: true`);
    }
    warnings.push(`ignored tensor "lm_head.weight" (equal to ${embedName}; the model ties them)`);
    onProgress?.({ tensor: 'lm_head.weight', done: ++done, total });
  }

  const tokenizerJson = await readJson(src, TOKENIZER_FILE, false);
  const tokenizerConfig = await readJson(src, TOKENIZER_CONFIG_FILE, false);
  if (tokenizerJson === undefined) warnings.push(`no ${TOKENIZER_FILE}`);
  const tokenizer = tokenizerJson === undefined ? undefined : tokenizerConfig === undefined ? { tokenizerJson } : { tokenizerJson, tokenizerConfig };
  return { config, params, tokenizer, storedDtypes, warnings, hfConfig };
}

export interface SaveOptions {
  /** Stored dtype: F32 (default, bit-exact) or BF16 (rounded to nearest even). */
  dtype?: 'F32' | 'BF16';
  /** Split into shards of at most this many tensor bytes (a bigger tensor gets a shard of its own). */
  maxShardBytes?: number;
}

/** Saves a checkpoint folder; `params` must hold exactly the tensors of paramList(config). */
export async function saveCheckpoint(
  to: string | CheckpointWriter,
  config: ModelConfig,
  params: ReadonlyMap<string, Float32Array>,
  tokenizer: TokenizerFiles,
  options: SaveOptions = {},
): Promise<{ files: string[] }> {
  const dest = typeof to === 'string' ? nodeFolder(to) : to;
  validateConfig(config);
  const dtype = options.dtype ?? 'F32';
  const expected = paramList(config);
  for (const p of expected) {
    const data = params.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (data === undefined) throw new Error(`saveCheckpoint: missing tensor ${JSON.stringify(p.name)} (shape [${p.shape.join(', ')}])`);
    if (data.length !== size) throw new Error(`saveCheckpoint: tensor ${JSON.stringify(p.name)} has ${data.length} values, shape [${p.shape.join(', ')}] needs ${size}`);
  }
  const names = new Set(expected.map((p) => p.name));
  for (const name of params.keys()) if (!names.has(name)) throw new Error(`saveCheckpoint: tensor ${JSON.stringify(name)} is not a parameter of this config`);

  const width = dtype === 'F32' ? 4 : 2;
  const shards: (typeof expected)[] = [[]];
  let shardBytes = 0;
  for (const p of expected) {
    const bytes = p.shape.reduce((a, b) => a * b, 1) * width;
    const last = shards[shards.length - 1];
    if (options.maxShardBytes !== undefined && last.length > 0 && shardBytes + bytes > options.maxShardBytes) {
      shards.push([p]);
      shardBytes = bytes;
    } else {
      last.push(p);
      shardBytes += bytes;
    }
  }

  const written: string[] = [];
  const write = async (name: string, parts: readonly Uint8Array[]): Promise<void> => {
    await dest.write(name, parts);
    written.push(name);
  };
  const hf = { ...toHfConfig(config), torch_dtype: dtype === 'F32' ? 'float32' : 'bfloat16' };
  await write(CONFIG_FILE, [jsonBytes(hf)]);

  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    const file = shards.length === 1 ? WEIGHTS_FILE : shardName(i, shards.length);
    const enc = encodeSafetensors(
      shard.map((p) => ({ name: p.name, shape: p.shape, data: params.get(p.name) as Float32Array, dtype })),
      { format: 'pt' },
      `${dest.where}/${file}`,
    );
    await write(file, [enc.header, ...enc.chunks]);
    for (const p of shard) weightMap[p.name] = file;
    totalSize += enc.byteLength - enc.header.length;
  }
  if (shards.length > 1) {
    const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await write(WEIGHTS_INDEX_FILE, [jsonBytes({ metadata: { total_size: totalSize }, weight_map: sorted })]);
  }
  await write(TOKENIZER_FILE, [jsonBytes(tokenizer.tokenizerJson)]);
  if (tokenizer.tokenizerConfig !== undefined) await write(TOKENIZER_CONFIG_FILE, [jsonBytes(tokenizer.tokenizerConfig)]);

  // Weight files of an earlier save in another layout would confuse a later load.
  if (dest.list !== undefined && dest.remove !== undefined) {
    for (const name of await dest.list()) {
      const weights = name === WEIGHTS_FILE || name === WEIGHTS_INDEX_FILE || SHARD_PATTERN.test(name);
      if (weights && !written.includes(name)) await dest.remove(name);
    }
  }
  return { files: written };
}
