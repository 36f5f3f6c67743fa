/**
 * Parameter layout: every weight of the model, under its Hugging Face name and shape, at an
 * offset inside one of a few flat float32 buffers. Offsets are aligned so each weight can be
 * bound on its own; buffers are split only where the device's binding-size limit requires, so
 * AdamW and the gradient norm take one dispatch per buffer.
 */
import type { ModelConfig } from './config';

export interface ParamSpec {
  /** Hugging Face tensor name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Row-major shape; linear weights are [out, in] as in PyTorch. */
  shape: number[];
  size: number;
  /** Which flat buffer holds it, and where (in elements). */
  buffer: number;
  offset: number;
  /** Norm weights start at 1 and take no weight decay. */
  kind: 'embedding' | 'linear' | 'norm';
}

export interface ParamLayout {
  params: ParamSpec[];
  /** Elements per flat buffer (each ≤ the binding limit). */
  bufferSizes: number[];
  byName: Map<string, ParamSpec>;
  /** Total parameter count (without alignment padding). */
  count: number;
}

/** 256 bytes, the largest minStorageBufferOffsetAlignment WebGPU allows. */
export const PARAM_ALIGN_ELEMENTS = 64;

export function paramList(c: ModelConfig): Array<Pick<ParamSpec, 'name' | 'shape' | 'kind'>> {
  const D = c.dModel;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const out: Array<Pick<ParamSpec, 'name' | 'shape' | 'kind'>> = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, D], kind: 'embedding' }];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [D], kind: 'norm' },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, D], kind: 'linear' },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, D], kind: 'linear' },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, D], kind: 'linear' },
      { name: `${p}.self_attn.o_proj.weight`, shape: [D, q], kind: 'linear' },
      { name: `${p}.post_attention_layernorm.weight`, shape: [D], kind: 'norm' },
      { name: `${p}.mlp.gate_proj.weight`, shape: [c.dFF, D], kind: 'linear' },
      { name: `${p}.mlp.up_proj.weight`, shape: [c.dFF, D], kind: 'linear' },
      { name: `${p}.mlp.down_proj.weight`, shape: [D, c.dFF], kind: 'linear' },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [D], kind: 'norm' });
  if (!c.tiedEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, D], kind: 'linear' });
  return out;
}

/**
 * Packs the parameters in order into buffers of at most `maxBindingElements` elements each
 * (the device's maxStorageBufferBindingSize / 4, rounded down to the alignment).
 */
export function layoutParams(c: ModelConfig, maxBindingElements: number): ParamLayout {
  const limit = Math.floor(maxBindingElements / PARAM_ALIGN_ELEMENTS) * PARAM_ALIGN_ELEMENTS;
  const params: ParamSpec[] = [];
  const bufferSizes: number[] = [0];
  let count = 0;
  for (const p of paramList(c)) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (size > limit) throw new Error(`parameter ${p.name} [${p.shape.join(', ')}] has ${size} elements, more than one binding holds (${limit})`);
    let buffer = bufferSizes.length - 1;
    let offset = Math.ceil(bufferSizes[buffer] / PARAM_ALIGN_ELEMENTS) * PARAM_ALIGN_ELEMENTS;
    if (offset + size > limit) {
      bufferSizes.push(0);
      buffer++;
      offset = 0;
    }
    bufferSizes[buffer] = offset + size;
    params.push({ ...p, size, buffer, offset });
    count += size;
  }
  return { params, bufferSizes, byName: new Map(params.map((p) => [p.name, p])), count };
}
