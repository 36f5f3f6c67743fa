// The table of method traits (src/rl/methods.ts): what each method needs, read by validation,
// rollouts, the judge budget and the judge builder.
import { describe, expect, it } from 'vitest';
import { METHODS, PAPER_STAGE_I, PAPER_STAGE_II, STAGE_FIELDS } from '../../src/rl/config';
import { collectMethod, effectiveEpsHigh, judgeMode, METHOD_TRAITS, methodTraits, needsJudge, needsReference } from '../../src/rl/methods';

describe('method traits', () => {
  it('has one row per method', () => {
    expect(Object.keys(METHOD_TRAITS).sort()).toEqual([...METHODS].sort());
    expect(() => methodTraits('ppo' as never)).toThrow(/unknown method "ppo"/);
  });

  it('names the judge each method asks', () => {
    expect(METHODS.map((m) => [m, judgeMode(m), needsJudge(m)])).toEqual([
      ['sparse-grpo', 'none', false],
      ['exprl-outcome', 'outcome', true],
      ['exprl-process', 'process', true],
      ['sft', 'none', false],
      ['self-distill', 'none', false],
      ['stage2', 'none', false],
    ]);
  });

  it('needs the frozen reference for self-distillation always, for the others when klCoef > 0, never for SFT', () => {
    expect(needsReference({ method: 'self-distill', klCoef: 0 })).toBe(true);
    expect(needsReference({ method: 'exprl-process', klCoef: 0 })).toBe(false);
    expect(needsReference({ method: 'exprl-process', klCoef: 0.001 })).toBe(true);
    expect(needsReference({ method: 'stage2', klCoef: 0 })).toBe(false);
    expect(needsReference({ method: 'sft', klCoef: 0.001 })).toBe(false);
  });

  it('resolves epsHigh "auto" to the paper\'s value, which the paper stages show', () => {
    expect(effectiveEpsHigh({ method: 'exprl-outcome', epsHigh: 'auto' })).toBe(0.28);
    expect(effectiveEpsHigh({ method: 'exprl-process', epsHigh: 'auto' })).toBe(0.26);
    expect(effectiveEpsHigh({ method: 'stage2', epsHigh: 0.5 })).toBe(0.5);
    for (const m of ['exprl-outcome', 'exprl-process', 'sparse-grpo'] as const) expect(PAPER_STAGE_I[m].epsHigh).toBe(METHOD_TRAITS[m].epsHigh);
    expect(STAGE_FIELDS.epsHigh.doc).toContain('"auto" = 0.28 for exprl-outcome, 0.26 for the others');
  });

  it('gives the default split, the advantage rule and what collectRollouts applies', () => {
    expect(PAPER_STAGE_II.split).toBe('rl');
    expect(PAPER_STAGE_I['exprl-process'].split).toBe('mid');
    expect(METHODS.map((m) => methodTraits(m).advantage)).toEqual(['grpo', 'grpo', 'delta', 'none', 'teacher', 'mean-baseline']);
    expect(METHODS.filter((m) => methodTraits(m).trainsOnReferences)).toEqual(['sft']);
    expect(METHODS.map(collectMethod)).toEqual(['sparse-grpo', 'exprl-outcome', 'exprl-process', null, 'sparse-grpo', 'stage2']);
  });
});
