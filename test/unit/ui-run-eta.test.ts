// The ETA before Resume (src/ui/state/run-eta.ts): only measured step times of the current stage go
// in, as their median; nothing is said for a stage with no measured step.
import { describe, expect, it } from 'vitest';
import { preset } from '../../src/rl/config';
import type { EvalLine } from '../../src/rl/evaluate';
import type { StepMetrics } from '../../src/rl/metrics';
import type { RunCursor } from '../../src/rl/run-state';
import { describeEta, stageEta } from '../../src/ui/state/run-eta';

const step = (stage: number, s: number): StepMetrics => ({ stage, step: 1, step_s: s }) as unknown as StepMetrics;
const evalLine = { eval: true, stage: 1, step: 0, step_s: 999 } as unknown as EvalLine;
const at = (stage: number, stepNo: number): RunCursor => ({ stage, step: stepNo, globalStep: stepNo, baseEval: stage > 0, finished: false });

describe('stageEta', () => {
  const config = preset('tiny');
  config.stages[0].steps = 10;

  it('is the steps left in the stage times the median measured step of that stage', () => {
    const lines = [step(0, 100), step(1, 3), evalLine, step(1, 9), step(1, 4)];
    expect(stageEta(config, at(1, 3), lines)).toEqual({ stage: 1, steps: 7, stepSeconds: 4, measured: 3, seconds: 28 });
    expect(stageEta(config, at(1, 4), [...lines, step(1, 5)])?.stepSeconds).toBe(4.5);
  });

  it('says nothing without a measured step of the stage, when the stage is done, or when the run finished', () => {
    expect(stageEta(config, at(1, 0), [step(0, 2)])).toBeNull();
    expect(stageEta(config, at(2, 0), [step(1, 2)])).toBeNull();
    expect(stageEta(config, at(1, 10), [step(1, 2)])).toBeNull();
    expect(stageEta(config, { ...at(1, 3), finished: true }, [step(1, 2)])).toBeNull();
    expect(stageEta(config, at(1, 3), [step(1, NaN), step(1, 0)])).toBeNull();
  });

  it('counts Stage 0 against the pre-training steps', () => {
    expect(stageEta(config, at(0, 1), [step(0, 2)])).toMatchObject({ stage: 0, steps: config.pretrain.steps - 1, seconds: 2 * (config.pretrain.steps - 1) });
  });

  it('describes the estimate with what it leaves out', () => {
    expect(describeEta({ stage: 1, steps: 7, stepSeconds: 4, measured: 3, seconds: 28 })).toBe(
      'About 28 s left in stage 1: 7 steps at 4.0 s each (the median of 3 measured here); evaluations and later stages not included.',
    );
    expect(describeEta({ stage: 2, steps: 200, stepSeconds: 30, measured: 5, seconds: 6000 })).toMatch(/^About 1\.7 h left in stage 2/);
  });
});
