/**
 * Wrapper for shaders/losses.wgsl: token-mean PPO-clip (dual clip, k3 KL) and cross-entropy
 * losses over R tokens, and their gradients with respect to logp.
 */
import code from '../../../shaders/losses.wgsl?raw';
import { workgroupGrid, type GridOptions } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor } from '../validate';

export const lossesKernels = {
  pgForward: kernel('losses', code, 'pg_loss_forward', ['read', 'read', 'read', 'read', 'read', 'write', 'write', 'write', 'uniform']),
  pgBackward: kernel('losses', code, 'pg_loss_backward', ['read', 'read', 'read', 'read', 'read', 'write', 'uniform']),
  ceForward: kernel('losses', code, 'ce_loss_forward', ['read', 'read', 'write', 'uniform']),
  ceBackward: kernel('losses', code, 'ce_loss_backward', ['read', 'write', 'uniform']),
} as const;

/** Tokens per workgroup (WG in the shader). */
const TOKENS_PER_WORKGROUP = 64;

export interface LossOptions extends GridOptions {
  /**
   * The divisor N of the summed token losses: the whole batch's counted tokens for a token mean,
   * or its samples for PipelineRL's sum over tokens divided by samples; 0 when nothing is counted.
   */
  nTokens: number;
}

export interface PgLossOptions extends LossOptions {
  /** Clip below at 1 − epsLow; from 1 up the bound is at or below 0, which no ratio reaches (no clip below). */
  epsLow: number;
  epsHigh: number;
  /** Dual-clip bound c > 1 on −A·r for negative advantages; 0 turns it off. */
  dualClip: number;
  /** Weight of the k3 KL term in the loss. */
  klCoef: number;
}

/** Per-token inputs of the PPO loss, all f32 [R]. */
export interface PgInputs {
  logp: Tensor;
  logpOld: Tensor;
  /** Reference policy; null when there is none: logp is bound instead, so kl is 0 everywhere. */
  logpRef: Tensor | null;
  adv: Tensor;
  /** Token weight, 0 = not counted (prompt or pad). */
  mask: Tensor;
}

export interface PgOutputs {
  /** f32 [R]: mask·(pg + klCoef·kl)/N; their sum is the loss. */
  loss: Tensor;
  /** f32 [R]: mask·kl, unscaled. */
  kl: Tensor;
  /** f32 [R]: +1 gradient cut at a high ratio (upper or dual clip), −1 at a low ratio, 0 neither. */
  clip: Tensor;
}

function common(gpu: Gpu, op: string, R: number, o: LossOptions): { invN: number; workgroups: [number, number] } {
  needInt(op, 'R', R);
  if (!(Number.isFinite(o.nTokens) && o.nTokens >= 0)) throw new Error(`${op}: nTokens must be ≥ 0, got ${o.nTokens}`);
  // With N = 0 no token is counted, so the scale is never applied to anything.
  return { invN: o.nTokens > 0 ? 1 / o.nTokens : 0, workgroups: workgroupGrid(gpu, ceilDiv(R, TOKENS_PER_WORKGROUP), o) };
}

function pgParams(op: string, R: number, invN: number, o: PgLossOptions): ArrayBuffer {
  if (!(o.epsLow >= 0 && Number.isFinite(o.epsLow))) throw new Error(`${op}: epsLow must be finite and ≥ 0, got ${o.epsLow}`);
  if (!(o.epsHigh >= 0 && Number.isFinite(o.epsHigh))) throw new Error(`${op}: epsHigh must be finite and ≥ 0, got ${o.epsHigh}`);
  if (!(o.dualClip === 0 || (o.dualClip > 1 && Number.isFinite(o.dualClip)))) {
    throw new Error(`${op}: dualClip must be 0 (off) or > 1, got ${o.dualClip}`);
  }
  if (!Number.isFinite(o.klCoef)) throw new Error(`${op}: klCoef must be finite, got ${o.klCoef}`);
  return packParams([
    ['u32', R],
    ['f32', invN],
    ['f32', o.epsLow],
    ['f32', o.epsHigh],
    ['f32', o.dualClip],
    ['f32', o.klCoef],
  ]);
}

function pgBindings(op: string, x: PgInputs, R: number): Tensor[] {
  needTensor(op, 'logp', x.logp, R);
  needTensor(op, 'logpOld', x.logpOld, R);
  if (x.logpRef !== null) needTensor(op, 'logpRef', x.logpRef, R);
  needTensor(op, 'adv', x.adv, R);
  needTensor(op, 'mask', x.mask, R);
  return [x.logp, x.logpOld, x.logpRef ?? x.logp, x.adv, x.mask];
}

/** Records the per-token PPO-clip + KL loss, the KL and the clip flags of R tokens. */
export function pgLossForward(gpu: Gpu, x: PgInputs, out: PgOutputs, R: number, o: PgLossOptions): void {
  const op = 'pg_loss_forward';
  const c = common(gpu, op, R, o);
  const params = pgParams(op, R, c.invN, o);
  const inputs = pgBindings(op, x, R);
  needTensor(op, 'loss', out.loss, R);
  needTensor(op, 'kl', out.kl, R);
  needTensor(op, 'clip', out.clip, R);
  if (R === 0) return;
  gpu.run(lossesKernels.pgForward, { bindings: [...inputs, out.loss, out.kl, out.clip], params, workgroups: c.workgroups });
}

/** Records dlogp = ∂(Σ loss)/∂logp of the PPO loss (overwrites dlogp). */
export function pgLossBackward(gpu: Gpu, x: PgInputs, dlogp: Tensor, R: number, o: PgLossOptions): void {
  const op = 'pg_loss_backward';
  const c = common(gpu, op, R, o);
  const params = pgParams(op, R, c.invN, o);
  const inputs = pgBindings(op, x, R);
  needTensor(op, 'dlogp', dlogp, R);
  if (R === 0) return;
  gpu.run(lossesKernels.pgBackward, { bindings: [...inputs, dlogp], params, workgroups: c.workgroups });
}

function ceParams(R: number, invN: number): ArrayBuffer {
  return packParams([
    ['u32', R],
    ['f32', invN],
  ]);
}

/** Records the per-token cross-entropy −mask·logp/N of R tokens. */
export function ceLossForward(gpu: Gpu, logp: Tensor, mask: Tensor, loss: Tensor, R: number, o: LossOptions): void {
  const op = 'ce_loss_forward';
  const c = common(gpu, op, R, o);
  needTensor(op, 'logp', logp, R);
  needTensor(op, 'mask', mask, R);
  needTensor(op, 'loss', loss, R);
  if (R === 0) return;
  gpu.run(lossesKernels.ceForward, { bindings: [logp, mask, loss], params: ceParams(R, c.invN), workgroups: c.workgroups });
}

/** Records dlogp = −mask/N, the cross-entropy gradient (overwrites dlogp). */
export function ceLossBackward(gpu: Gpu, mask: Tensor, dlogp: Tensor, R: number, o: LossOptions): void {
  const op = 'ce_loss_backward';
  const c = common(gpu, op, R, o);
  needTensor(op, 'mask', mask, R);
  needTensor(op, 'dlogp', dlogp, R);
  if (R === 0) return;
  gpu.run(lossesKernels.ceBackward, { bindings: [mask, dlogp], params: ceParams(R, c.invN), workgroups: c.workgroups });
}
