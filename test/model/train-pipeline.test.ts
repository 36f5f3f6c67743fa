// The whole run (src/rl/run.ts) with the `tiny` preset: Stage 0 → Stage I (3 steps of each
// method) → Stage II (1 step) → eval, on a fresh built-in policy. Checks the metric lines (keys,
// stages, order, no NaN), the rollouts each RL step hands out, the self-distillation teacher's
// advantages against an unbatched scoring, and the pauses: too many masked rollouts, judge cap.
import { testGpu, testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { callFailure } from '../../src/judge/parse';
import { RubricJudge } from '../../src/judge/rubric';
import type { Judge, JudgeScore, ProcessInput } from '../../src/judge/types';
import { createBuiltinPolicy } from '../../src/model/builtin';
import { readParams } from '../../src/model/params';
import { PolicySession } from '../../src/model/session';
import { METHODS, preset, resolveConfig, type Method, type RunConfig } from '../../src/rl/config';
import type { EvalLine } from '../../src/rl/evaluate';
import { STEP_METRIC_KEYS, type StepMetrics } from '../../src/rl/metrics';
import { rolloutJsonLine } from '../../src/rl/rollouts';
import { runPipeline, type RolloutBatch } from '../../src/rl/run';
import { teacherPrompt } from '../../src/rl/stage-data';

const print = (s: string): void => {
  if (globalThis.process?.env?.EXPRL_PRINT_ERRORS) console.log(s);
};

// The teacher pass (batched, padded) vs scoring one sequence alone: the same float32 forward.
const TEACHER_TOL = 1e-4;

async function freshSession(seed: number, stopAtOnce = false): Promise<PolicySession> {
  const gpu = await testGpu();
  const p = createBuiltinPolicy(seed);
  if (stopAtOnce) {
    // Feature 0 of every token embedding is 5 (so the residual stream's feature 0 stays large
    // and positive), <eos>'s is 50, and the final norm amplifies it: the tied head then puts
    // nearly all mass on <eos>, so responses finish at once (and get judged) instead of being cut.
    const D = p.config.dModel;
    const emb = p.params.get('model.embed_tokens.weight')!;
    for (let v = 0; v < p.config.vocabSize; v++) emb[v * D] = v === p.tokenizer.eosId ? 50 : 5;
    p.params.get('model.norm.weight')![0] = 10;
  }
  return PolicySession.fromValues(gpu, p.config, p.params, p.tokenizer);
}

function tinyWith(method: Method): RunConfig {
  const c = preset('tiny');
  c.stages[0].method = method;
  return resolveConfig(c);
}

function isEval(line: StepMetrics | EvalLine): line is EvalLine {
  return (line as EvalLine).eval === true;
}

// Chromium runs two methods (the judged one and the one with a teacher pass); Node all of them.
const platform: string = testPlatform;
const methods: readonly Method[] = platform === 'node' ? METHODS : ['exprl-process', 'self-distill'];

describe('runPipeline, tiny preset', () => {
  for (const method of methods) {
    it(`runs Stage 0 → 3 steps of ${method} → Stage II → eval`, async () => {
      const session = await freshSession(3);
      const config = tinyWith(method);
      const lines: (StepMetrics | EvalLine)[] = [];
      const batches: RolloutBatch[] = [];
      const teacherChecks: number[] = [];
      try {
        const before = await readParams(session.gpu, session.model);
        const result = await runPipeline(
          { session, config, judge: new RubricJudge({ normalisation: config.judge.normalisation }), freshPolicy: true },
          {
            onMetrics: (l) => void lines.push(l),
            onRollouts: async (b) => {
              batches.push(b);
              if (b.method === 'self-distill' && b.step === 1) {
                // Step 1: the policy still equals the frozen teacher, so scoring the teacher's
                // prompt + the response with the policy gives the teacher's log-probs.
                for (const r of b.records.slice(0, 3)) {
                  if (!r.lossMask) continue;
                  const item = b.items[r.group];
                  const ids = [...session.tokenizer.encode(teacherPrompt(item.question, item.reference)), ...r.response];
                  const { logprobs } = await session.scoreIds(ids, { temperature: config.stages[0].temperature });
                  const P = ids.length - r.response.length;
                  for (let j = 0; j < r.response.length; j++) teacherChecks.push(Math.abs(r.advantages[j] - (logprobs[P - 1 + j] - r.logpOld[j])));
                }
              }
            },
          },
        );
        print(`${method}: ${JSON.stringify(result)}`);
        expect(result.status).toBe('finished');
        expect(result.steps).toBe(4);

        const steps = lines.filter((l): l is StepMetrics => !isEval(l));
        const evals = lines.filter(isEval);
        expect(steps.map((l) => [l.stage, l.step, l.method])).toEqual([
          [0, 1, 'sft'],
          [0, 2, 'sft'],
          [1, 1, method],
          [1, 2, method],
          [1, 3, method],
          [2, 4, 'stage2'],
        ]);
        for (const l of steps) {
          expect(Object.keys(l)).toEqual(STEP_METRIC_KEYS);
          for (const [k, v] of Object.entries(l)) {
            if (typeof v === 'number') expect(Number.isFinite(v), `${method} step ${l.step} ${k} = ${v}`).toBe(true);
          }
          expect(l.grad_norm).toBeGreaterThanOrEqual(0);
        }
        expect(evals.map((e) => [e.step, e.n, e.prompts])).toEqual([
          [0, 4, 2],
          [4, 4, 2],
        ]);
        for (const e of evals) {
          expect(e['pass@1']).toBeGreaterThanOrEqual(0);
          expect(e['pass@4']).toBeGreaterThanOrEqual(e['pass@1'] as number);
          expect(Object.keys(e.behaviours)).toEqual(['verification', 'self_correction', 'backtracking']);
        }

        // Every RL step hands out P × G rollouts; SFT has none.
        const rl = method === 'sft' ? [] : [1, 2, 3];
        expect(batches.map((b) => b.step)).toEqual([...rl, 4]);
        for (const b of batches) {
          const s = config.stages[b.step === 4 ? 1 : 0];
          expect(b.records).toHaveLength(s.promptsPerStep * s.rolloutsPerPrompt);
          for (const r of b.records) {
            const line = JSON.parse(rolloutJsonLine(r, { stage: b.stage, step: b.step }));
            expect(Object.keys(line)).toEqual(expect.arrayContaining(['prompt_id', 'text', 'segments', 'reward', 'correct', 'masked']));
            for (const seg of line.segments) expect(Object.keys(seg)).toEqual(['text', 'score', 'advantage']);
          }
        }
        if (method === 'exprl-process') {
          const judged = batches[0].records.filter((r) => r.judgeCalls > 0);
          for (const r of judged) expect(r.judgeCalls).toBe(r.segments.length);
          print(`exprl-process line: ${rolloutJsonLine(batches[0].records[0], { stage: 1, step: 1 })}`);
        }
        if (method === 'self-distill') {
          expect(teacherChecks.length, 'some teacher tokens were checked').toBeGreaterThan(0);
          expect(Math.max(...teacherChecks)).toBeLessThan(TEACHER_TOL);
        }
        const after = await readParams(session.gpu, session.model);
        let moved = 0;
        for (const [k, v] of after) moved = Math.max(moved, ...v.map((x, i) => Math.abs(x - before.get(k)![i])));
        expect(moved, 'the run changed the parameters').toBeGreaterThan(0);
      } finally {
        session.destroy();
      }
    }, 300_000);
  }
});

/** Fails every call with a reason, so each judged rollout is masked. */
class DownJudge implements Judge {
  readonly name = 'down';
  async outcome(): Promise<JudgeScore> {
    return callFailure('HTTP 503 from http://judge.invalid/v1 after 2 retries');
  }
  async process(input: ProcessInput): Promise<JudgeScore[]> {
    return input.segments.map(() => callFailure('HTTP 503 from http://judge.invalid/v1 after 2 retries'));
  }
}

/** A DownJudge with a circuit breaker that opens after `after` failed calls. */
class BreakingJudge extends DownJudge {
  private failed = 0;
  constructor(private readonly after: number) {
    super();
  }
  override async outcome(): Promise<JudgeScore> {
    this.failed++;
    return super.outcome();
  }
  tripped(): string | null {
    return this.failed >= this.after ? `the judge down failed ${this.after} calls in a row (judge.breakerAfter ${this.after}), so it makes no more calls; the last failure: HTTP 503` : null;
  }
}

describe('runPipeline pauses', () => {
  const quick = (over: Partial<RunConfig['judge']>): RunConfig => {
    const c = preset('tiny');
    c.pretrain.steps = 0;
    c.stages = [{ ...c.stages[0], method: 'exprl-outcome', maxResponseTokens: 12 }];
    c.judge = { ...c.judge, ...over };
    return resolveConfig(c);
  };

  it('when more than judge.maxMaskedShare of a step is masked, with the reason and no update', async () => {
    const session = await freshSession(4, true);
    try {
      const before = await readParams(session.gpu, session.model);
      const lines: unknown[] = [];
      const result = await runPipeline({ session, config: quick({ maxMaskedShare: 0.25 }), judge: new DownJudge(), freshPolicy: false }, { onMetrics: (l) => void lines.push(l) });
      print(JSON.stringify(result));
      expect(result.status).toBe('paused');
      expect(result.reason).toMatch(/stage 1 step 1: \d+ of 8 rollouts masked by judge failures .* more than judge\.maxMaskedShare 25%; first failure: call failure: HTTP 503/);
      expect(result.steps).toBe(0);
      expect(lines).toHaveLength(1); // the eval before training, no step line
      const after = await readParams(session.gpu, session.model);
      for (const [k, v] of after) expect(Array.from(v), k).toEqual(Array.from(before.get(k)!));
    } finally {
      session.destroy();
    }
  }, 120_000);

  it('when the judge\'s circuit breaker opens (calls in a row failed), with its reason and no update', async () => {
    const session = await freshSession(6, true);
    try {
      const before = await readParams(session.gpu, session.model);
      // maxMaskedShare 1: only the breaker can pause this run.
      const result = await runPipeline({ session, config: quick({ maxMaskedShare: 1 }), judge: new BreakingJudge(3), freshPolicy: false });
      print(JSON.stringify(result));
      expect(result.status).toBe('paused');
      expect(result.reason).toMatch(/^stage 1 step 1: the judge down failed 3 calls in a row .*HTTP 503.*No update was made for this step\.$/);
      expect(result.steps).toBe(0);
      const after = await readParams(session.gpu, session.model);
      for (const [k, v] of after) expect(Array.from(v), k).toEqual(Array.from(before.get(k)!));
    } finally {
      session.destroy();
    }
  }, 120_000);

  it('before a step whose judge calls could pass judge.callCap', async () => {
    const session = await freshSession(5, true);
    try {
      // 2 prompts × 4 rollouts, one outcome call each: 8 per step at most; a cap of 12 allows one step.
      const result = await runPipeline({ session, config: quick({ callCap: 12 }), judge: new RubricJudge(), freshPolicy: false });
      print(JSON.stringify(result));
      expect(result.status).toBe('paused');
      expect(result.steps).toBe(1);
      expect(result.reason).toMatch(/judge call cap: \d+ of judge\.callCap 12 calls used, and stage 1 step 2 may need up to 8 more/);
      expect(result.judgeCalls).toBeLessThanOrEqual(8);
    } finally {
      session.destroy();
    }
  }, 120_000);
});

describe('runPipeline checkpoints', () => {
  it('after a step the checkpointWanted hook asks for, whatever checkpointEvery says (the page being hidden)', async () => {
    const session = await freshSession(7, true);
    const c = preset('tiny');
    c.pretrain.steps = 0;
    c.eval.before = false;
    c.stages = [{ ...c.stages[0], method: 'exprl-outcome', maxResponseTokens: 12 }];
    c.checkpointEvery = 100;
    const saved: string[] = [];
    let asked = 0;
    try {
      const result = await runPipeline(
        { session, config: resolveConfig(c), judge: new RubricJudge(), freshPolicy: false, store: { save: async (s) => void saved.push(`${s.state.cursor.stage}.${s.state.cursor.step}`) } },
        // Wanted after step 2 only.
        { checkpointWanted: () => ++asked === 2 },
      );
      expect(result.status).toBe('finished');
      // Asked after steps 1 and 2; step 3 ends the stage, which saves anyway.
      expect(asked).toBe(2);
      // Stage I begins (1.0); step 2 because it was wanted; step 3 ends the stage; the finished run (2.0).
      expect(saved).toEqual(['1.0', '1.2', '1.3', '2.0']);
    } finally {
      session.destroy();
    }
  }, 120_000);
});

describe('runPipeline with the base eval deferred (the page)', () => {
  it('shows the first rollouts before the base eval, and writes the same lines, rollouts and weights as a run that does not defer', async () => {
    const c = preset('tiny');
    c.pretrain.steps = 0;
    c.stages = [{ ...c.stages[0], method: 'exprl-process', steps: 2, maxResponseTokens: 12 }];
    const config = resolveConfig(c);
    const once = async (deferBaseEval: boolean) => {
      const session = await freshSession(8);
      const events: string[] = [];
      const lines: string[] = [];
      const rollouts: string[] = [];
      const saved: string[] = [];
      try {
        const result = await runPipeline(
          { session, config, judge: new RubricJudge(), freshPolicy: false, deferBaseEval, store: { save: async (s) => void saved.push(`${s.state.cursor.stage}.${s.state.cursor.step} lines ${JSON.stringify(s.state.lines)}`) } },
          {
            onMetrics: (l) => {
              events.push(isEval(l) ? `eval ${l.stage}` : `step ${l.step}`);
              const { step_s: _s, time_sample_s: _a, time_judge_s: _j, time_update_s: _u, judge_latency_ms: _l, tokens_per_s: _t, ...rest } = l as StepMetrics;
              lines.push(JSON.stringify(rest));
            },
            onRollouts: (b: RolloutBatch) => {
              events.push(`rollouts ${b.step}`);
              for (const r of b.records) rollouts.push(rolloutJsonLine(r, { step: b.step }));
            },
          },
        );
        expect(result.status).toBe('finished');
        return { events, lines, rollouts, saved, weights: await readParams(session.gpu, session.model) };
      } finally {
        session.destroy();
      }
    };
    const deferred = await once(true);
    const plain = await once(false);
    expect(plain.events).toEqual(['eval 0', 'rollouts 1', 'step 1', 'rollouts 2', 'step 2', 'eval 1']);
    expect(deferred.events).toEqual(['rollouts 1', 'eval 0', 'step 1', 'rollouts 2', 'step 2', 'eval 1']);
    expect(deferred.lines).toEqual(plain.lines);
    expect(deferred.rollouts).toEqual(plain.rollouts);
    // Stage I's first state is saved before its base eval when deferred; after step 1 both count the same lines.
    expect(deferred.saved.slice(1)).toEqual(plain.saved.slice(1));
    for (const [name, w] of plain.weights) expect(deferred.weights.get(name), name).toEqual(w);
  }, 240_000);
});
