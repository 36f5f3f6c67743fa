/**
 * Writes tiny random Llama-layout checkpoints as Hugging Face folders, in the variants imported
 * models come in: tied and untied heads, grouped-query and full multi-head attention, float32
 * and bf16 weights, one file and sharded. Sizes are odd on purpose (prime widths, head_dim not
 * hidden/heads) so layout mistakes cannot hide behind symmetric shapes.
 *
 *     node --import tsx scripts/make-tiny-model.ts OUT_DIR [--seed N] [--variant NAME]...
 *
 * writes OUT_DIR/<variant>/ for each variant (all by default). Tests call `makeTinyModel`
 * directly and write into a temporary folder; no binary file is committed.
 */
import { pathToFileURL } from 'node:url';
import { randomUniforms } from '../src/gpu/rng';
import { saveCheckpoint } from '../src/model/checkpoint';
import { CharTokenizer, DEFAULT_CHARACTERS } from '../src/model/char-tokenizer';
import type { ModelConfig } from '../src/model/config';
import { roundToBf16 } from '../src/model/dtype';
import { paramList } from '../src/model/layout';

export interface TinyVariant {
  name: string;
  config: ModelConfig;
  dtype: 'F32' | 'BF16';
  /** Shard size limit in bytes; absent for one file. */
  maxShardBytes?: number;
}

const base = { normEps: 1e-5, bosTokenId: 1, eosTokenId: 2 };

export const TINY_VARIANTS: readonly TinyVariant[] = [
  {
    name: 'tied-gqa-f32',
    config: { ...base, vocabSize: 37, dModel: 24, nLayers: 2, nHeads: 6, nKvHeads: 2, headDim: 4, dFF: 37, ropeTheta: 10000, tiedEmbeddings: true, maxSeqLen: 64 },
    dtype: 'F32',
  },
  {
    name: 'untied-gqa-bf16-sharded',
    config: { ...base, vocabSize: 41, dModel: 20, nLayers: 3, nHeads: 4, nKvHeads: 2, headDim: 6, dFF: 29, ropeTheta: 100000, tiedEmbeddings: false, maxSeqLen: 48 },
    dtype: 'BF16',
    maxShardBytes: 4096,
  },
  {
    // SmolLM2's shape in miniature: tied, 3 query heads per key/value head, rope theta 1e5, bf16.
    name: 'tied-gqa-bf16',
    config: { ...base, vocabSize: 43, dModel: 18, nLayers: 2, nHeads: 3, nKvHeads: 1, headDim: 6, dFF: 31, ropeTheta: 100000, tiedEmbeddings: true, maxSeqLen: 40 },
    dtype: 'BF16',
  },
  {
    name: 'untied-mha-f32-sharded',
    config: { ...base, vocabSize: 29, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, headDim: 8, dFF: 23, ropeTheta: 10000, tiedEmbeddings: false, maxSeqLen: 32 },
    dtype: 'F32',
    maxShardBytes: 3000,
  },
];

/** The character tokenizer whose vocabulary size is exactly `vocabSize` (3 special tokens + characters). */
export function tinyTokenizer(vocabSize: number): CharTokenizer {
  const chars = [...DEFAULT_CHARACTERS];
  if (vocabSize < 4 || vocabSize - 3 > chars.length) throw new Error(`tiny model: vocabSize ${vocabSize} must be 4..${chars.length + 3}`);
  return CharTokenizer.fromCharacters(chars.slice(0, vocabSize - 3));
}

/**
 * Seeded random weights: uniform with a 1/sqrt(fan-in) scale for linear layers, wider for the
 * embedding so logits spread, and norm weights near 1 but not equal to it (a norm weight read
 * into the wrong slot must change the output). Tensor i draws stream i of the Philox generator.
 */
export function tinyParams(config: ModelConfig, seed: number): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [i, p] of paramList(config).entries()) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const u = randomUniforms(seed >>> 0, i, n);
    const out = new Float32Array(n);
    const scale = p.kind === 'linear' ? 1 / Math.sqrt(p.shape[1]) : p.kind === 'embedding' ? 0.5 : 0.2;
    for (let j = 0; j < n; j++) out[j] = (p.kind === 'norm' ? 1 : 0) + scale * (2 * u[j] - 1);
    params.set(p.name, out);
  }
  return params;
}

export interface TinyModel {
  dir: string;
  variant: TinyVariant;
  config: ModelConfig;
  /** The weights exactly as a load returns them (bf16 variants already rounded). */
  params: Map<string, Float32Array>;
  tokenizer: CharTokenizer;
  files: string[];
}

export async function makeTinyModel(dir: string, variant: TinyVariant, seed: number): Promise<TinyModel> {
  let params = tinyParams(variant.config, seed);
  if (variant.dtype === 'BF16') params = new Map([...params].map(([k, v]) => [k, roundToBf16(v)]));
  const tokenizer = tinyTokenizer(variant.config.vocabSize);
  const { files } = await saveCheckpoint(dir, variant.config, params, tokenizer.files(variant.config.maxSeqLen), {
    dtype: variant.dtype,
    maxShardBytes: variant.maxShardBytes,
  });
  return { dir, variant, config: variant.config, params, tokenizer, files };
}

/** Every variant (or those named) into `outDir/<variant name>/`. */
export async function makeTinyModels(outDir: string, seed: number, names?: readonly string[]): Promise<TinyModel[]> {
  const chosen = names === undefined || names.length === 0 ? TINY_VARIANTS : names.map((n) => {
    const v = TINY_VARIANTS.find((x) => x.name === n);
    if (v === undefined) throw new Error(`unknown variant ${n} (known: ${TINY_VARIANTS.map((x) => x.name).join(', ')})`);
    return v;
  });
  const out: TinyModel[] = [];
  for (const v of chosen) out.push(await makeTinyModel(`${outDir.replace(/\/+$/, '')}/${v.name}`, v, seed));
  return out;
}

async function main(argv: string[]): Promise<void> {
  const usage = `usage: make-tiny-model OUT_DIR [--seed N] [--variant NAME]...\nvariants: ${TINY_VARIANTS.map((v) => v.name).join(', ')}`;
  let outDir: string | undefined;
  let seed = 1;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(usage);
      return;
    } else if (a === '--seed') {
      seed = Number(argv[++i]);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed needs a non-negative integer\n${usage}`);
    } else if (a === '--variant') {
      names.push(argv[++i] ?? '');
    } else if (outDir === undefined && !a.startsWith('-')) {
      outDir = a;
    } else {
      throw new Error(`unexpected argument ${a}\n${usage}`);
    }
  }
  if (outDir === undefined) throw new Error(usage);
  for (const m of await makeTinyModels(outDir, seed, names)) console.log(`${m.dir}: ${m.files.join(', ')}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
