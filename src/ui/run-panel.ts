/**
 * The run panel: pick a preset, method, policy and judge, see the judge-call estimate, start and
 * stop a run, and watch it: metric lines as they come, eval lines, and each step's rollouts
 * beside the question and its hidden reference, every segment coloured by its judge score.
 * Every text the model, the task set or the judge produced is set as text, never as markup.
 */
import * as Comlink from 'comlink';
import {
  JUDGE_KINDS,
  JUDGE_RUNTIMES,
  METHODS,
  preset,
  PRESET_NAMES,
  resolveConfig,
  TRANSFORMERS_DTYPES,
  type DeepPartial,
  type JudgeKind,
  type JudgeRuntime,
  type Method,
  type PresetName,
  type RunConfig,
  type TransformersDtype,
} from '../rl/config';
import { describeJudgeEstimate } from '../rl/judge-budget';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import type { EngineApi, EngineEvent, RolloutBatchView, RolloutView, RunPolicy } from '../worker/api';
import { el } from './dom';

const STEP_COLUMNS: (keyof StepMetrics)[] = ['stage', 'step', 'method', 'reward_mean', 'masked', 'adv_std', 'loss', 'kl', 'entropy', 'grad_norm', 'len_mean', 'cut_frac', 'judge_calls', 'step_s'];
const MAX_ROWS = 12;

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(3);
  return String(v);
}

function select<T extends string>(label: string, values: readonly T[], initial: T): HTMLSelectElement {
  const s = el('select');
  s.setAttribute('aria-label', label);
  for (const v of values) s.appendChild(el('option', { text: v }));
  s.value = initial;
  return s;
}

/** Background of a segment: red (0) through yellow to green (1); masked segments are grey. */
export function scoreColour(score: number | null): string {
  if (score === null) return '#d9dbe3';
  const s = Math.min(1, Math.max(0, score));
  return `hsl(${Math.round(120 * s)}, 70%, 84%)`;
}

function rolloutItem(r: RolloutView): HTMLElement {
  const flags = [r.correct ? 'correct' : 'wrong', r.cut ? 'cut at max length (reward 0)' : '', r.masked ? `masked: ${r.judgeError ?? 'no usable score'}` : ''].filter((x) => x !== '');
  const trace = el('div', { className: 'trace' });
  for (const seg of r.segments) {
    const span = el('span', { className: 'segment', text: seg.text });
    span.style.backgroundColor = scoreColour(seg.score);
    span.title = `score ${fmt(seg.score)} · value ${seg.advantage >= 0 ? '+' : ''}${fmt(seg.advantage)}`;
    trace.appendChild(span);
  }
  if (r.segments.length === 0) trace.appendChild(el('em', { text: '(empty response)' }));
  return el('li', { className: r.masked ? 'rollout masked' : 'rollout' }, el('div', { className: 'rollout-head', text: `reward ${fmt(r.reward)} · ${flags.join(' · ')}` }), trace);
}

function rolloutsView(b: RolloutBatchView): HTMLElement {
  const groups = b.prompts.map((p, g) =>
    el(
      'div',
      { className: 'group' },
      el('div', { className: 'reference' }, el('h4', { text: 'Question' }), el('pre', { text: p.question }), el('h4', { text: 'Reference (hidden from the policy)' }), el('pre', { text: p.reference })),
      el('ol', { className: 'rollouts' }, ...b.rollouts.filter((r) => r.group === g).map(rolloutItem)),
    ),
  );
  return el('div', {}, el('h3', { text: `Stage ${b.stage}, step ${b.step}: ${b.method} rollouts` }), ...groups);
}

export function runPanel(engine: Comlink.Remote<EngineApi>): HTMLElement {
  const presetSel = select('preset', PRESET_NAMES, 'tiny');
  const methodSel = select('method', METHODS, 'exprl-process');
  const policySel = select<RunPolicy>('policy', ['builtin', 'builtin-base', 'current'], 'builtin');
  const judgeSel = select<JudgeKind>('judge', JUDGE_KINDS, 'rubric');
  const steps = el('input');
  steps.type = 'number';
  steps.min = '1';
  steps.value = '3';
  steps.setAttribute('aria-label', 'Stage I steps');
  const endpoint = el('input');
  endpoint.placeholder = 'http://127.0.0.1:11434/v1';
  endpoint.setAttribute('aria-label', 'judge endpoint');
  const judgeModel = el('input');
  judgeModel.placeholder = 'judge model (openai: served name; local: Hub id)';
  judgeModel.setAttribute('aria-label', 'judge model');
  // Kind "local": what runs the judge model, and which ONNX weights transformers.js loads.
  const runtimeSel = select<JudgeRuntime>('judge runtime', JUDGE_RUNTIMES, 'auto');
  const dtypeSel = select<TransformersDtype>('judge weights', TRANSFORMERS_DTYPES, 'auto');
  runtimeSel.title = 'auto: this app\'s kernels for Llama-layout models with safetensors, transformers.js (ONNX) for the rest';
  dtypeSel.title = 'transformers.js only: which ONNX weights to load (auto: its default for WebGPU)';
  const estimate = el('p', { className: 'estimate' });
  const startBtn = el('button', { text: 'Start run' });
  const stopBtn = el('button', { text: 'Stop' });
  stopBtn.disabled = true;
  const status = el('p', { className: 'status run-status' });
  const progress = el('progress');
  progress.hidden = true;
  const metricsBody = el('tbody');
  const metrics = el('table', { className: 'metrics' }, el('thead', {}, el('tr', {}, ...STEP_COLUMNS.map((c) => el('th', { text: c })))), metricsBody);
  const evals = el('ul', { className: 'evals' });
  const rollouts = el('div', { className: 'rollout-view' });
  const notes = el('ul', { className: 'notes' });

  const config = (): RunConfig => {
    const base = preset(presetSel.value as PresetName);
    const over: DeepPartial<RunConfig> = {
      // Stage I as chosen; the preset's later stages (Stage II) stay.
      stages: base.stages.map((_, i) => (i === 0 ? { method: methodSel.value as Method, steps: Number(steps.value) } : {})),
      judge: {
        kind: judgeSel.value as JudgeKind,
        endpoint: endpoint.value.trim(),
        model: judgeModel.value.trim(),
        runtime: runtimeSel.value as JudgeRuntime,
        dtype: dtypeSel.value as TransformersDtype,
      },
    };
    // The policy chosen here is the run's policy; the config names it for the record.
    return resolveConfig(base, { ...over, policy: policySel.value === 'current' ? 'loaded-in-page' : policySel.value });
  };
  const refresh = (): void => {
    runtimeSel.hidden = judgeSel.value !== 'local';
    dtypeSel.hidden = judgeSel.value !== 'local' || runtimeSel.value === 'kernels';
    try {
      estimate.textContent = `Judge calls: ${describeJudgeEstimate(config())}`;
      startBtn.disabled = stopBtn.disabled === false;
    } catch (e) {
      estimate.textContent = `Config problem: ${e instanceof Error ? e.message : String(e)}`;
      startBtn.disabled = true;
    }
  };
  for (const input of [presetSel, methodSel, policySel, judgeSel, steps, endpoint, judgeModel, runtimeSel, dtypeSel]) input.addEventListener('input', refresh);

  engine.onEvent(
    Comlink.proxy((e: EngineEvent) => {
      if (e.type === 'run-metrics') {
        const line = e.line;
        if ((line as EvalLine).eval === true) {
          const ev = line as EvalLine;
          const ks = Object.keys(ev).filter((k) => k.startsWith('pass@'));
          evals.appendChild(el('li', { text: `eval after step ${ev.step}: ${ks.map((k) => `${k} ${fmt(ev[k as `pass@${number}`])}`).join(', ')}, mean@n ${fmt(ev['mean@n'])} (${ev.prompts} prompts × ${ev.n}); behaviours ${JSON.stringify(ev.behaviours)}` }));
        } else {
          const m = line as StepMetrics;
          metricsBody.appendChild(el('tr', {}, ...STEP_COLUMNS.map((c) => el('td', { text: fmt(m[c]) }))));
          while (metricsBody.children.length > MAX_ROWS) metricsBody.firstElementChild?.remove();
        }
      } else if (e.type === 'run-rollouts') {
        rollouts.replaceChildren(rolloutsView(e.batch));
      } else if (e.type === 'run-progress') {
        const p = e.progress;
        progress.hidden = false;
        progress.max = Math.max(1, p.total);
        progress.value = p.done;
        const what = p.phase === 'pretrain' ? 'Stage 0 pre-training' : p.phase === 'eval' ? 'evaluating' : `Stage ${p.stage} ${p.method}`;
        status.textContent = `${what}: ${p.done} of ${p.total}`;
      } else if (e.type === 'download' && stopBtn.disabled === false) {
        // The judge model of judge.kind "local", fetched when the run starts.
        status.textContent = `downloading the judge model: ${e.progress.file}, ${(e.progress.loadedAll / 2 ** 20).toFixed(1)} MiB`;
      } else if (e.type === 'run-note') {
        notes.appendChild(el('li', { text: e.message }));
      } else if (e.type === 'run-end') {
        const r = e.summary;
        status.textContent =
          r === null ? `failed: ${e.error ?? 'unknown error'}` : r.status === 'finished' ? `finished: ${r.steps} steps, ${r.judgeCalls} judge calls` : `paused: ${r.reason}`;
        stopBtn.disabled = true;
        progress.hidden = true;
        refresh();
      }
    }),
  );

  startBtn.addEventListener('click', async () => {
    let c: RunConfig;
    try {
      c = config();
    } catch (e) {
      status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    startBtn.disabled = true;
    stopBtn.disabled = false;
    metricsBody.replaceChildren();
    evals.replaceChildren();
    rollouts.replaceChildren();
    notes.replaceChildren();
    status.textContent = 'starting…';
    // The outcome, a failure included, is shown when the 'run-end' event arrives: it comes after
    // every other event of the run, which the call's own result does not.
    engine.startRun(c, policySel.value as RunPolicy).catch(() => {});
  });
  stopBtn.addEventListener('click', () => void engine.stopRun());
  refresh();

  return el(
    'section',
    { className: 'panel' },
    el('h2', { text: 'Run' }),
    el('div', { className: 'row' }, presetSel, methodSel, steps, policySel),
    el('div', { className: 'row' }, judgeSel, endpoint, judgeModel, runtimeSel, dtypeSel),
    estimate,
    el('div', { className: 'row' }, startBtn, stopBtn),
    progress,
    status,
    el('p', { className: 'hint', text: "On-policy GRPO's loss sits near zero while its gradient does not: watch the reward, not the loss." }),
    metrics,
    evals,
    notes,
    rollouts,
  );
}
