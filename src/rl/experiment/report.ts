/**
 * results.md of an experiment: the table in the form of the paper's Table 1 (rows = arms, columns
 * = pass@k after Stage I and after Stage II, mean ± sd over seeds), the differences between arms
 * paired by seed with the orderings that exceed their standard error or pass a paired t-test, the
 * share of reward that went to wrong rollouts, how the training rollouts' correctness moved within
 * each stage, what was held equal, and where and when it ran. And tuning.md of the `tune` plan:
 * dev pass@k per arm and learning rate, and the rate each arm is given. Pure text from
 * ExperimentResults and TuningResults.
 */
import { ARM_LABELS, lrLabel } from './plans';
import { ordering, SOUND_KEY, stageChanges, tCritical95, TRAINED_STAGES, type ExperimentResults, type PairedDifference, type Spread } from './results';
import { TAIL_STEPS, type TuningResults } from './tuning';

/** Steps in the moving average the reward and correct-share plots draw over their per-step means. */
export const SMOOTH_STEPS = 5;

/** The plot files the CLI draws (OUT/plots/NAME.svg), with their captions. */
export const PLOT_FILES: readonly { name: string; caption: string }[] = [
  { name: 'pass1', caption: 'pass@1 on the test prompts after Stage I and after Stage II (mean ± sd over seeds)' },
  { name: 'reward_mean', caption: `mean reward per step (mean over seeds; faint: each step, bold: ${SMOOTH_STEPS}-step moving average within each stage)` },
  { name: 'correct_frac', caption: `share of correct rollouts per step (mean over seeds; faint: each step, bold: ${SMOOTH_STEPS}-step moving average within each stage)` },
  { name: 'unlocked', caption: 'prompts solved at least once so far (the run\'s unlocked set)' },
  { name: 'kl', caption: 'KL to the stage\'s frozen reference' },
];

export function fmt(x: number | null | undefined, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—';
}

/** "mean ± sd", "mean" for a single seed, "—" for none; "(n=…)" when fewer seeds than planned. */
export function fmtSpread(s: Spread | undefined, seeds: number): string {
  if (s === undefined || s.mean === null) return '—';
  const core = s.sd === null ? fmt(s.mean) : `${fmt(s.mean)} ± ${fmt(s.sd)}`;
  return s.n < seeds ? `${core} (n=${s.n})` : core;
}

function fmtDiff(d: PairedDifference): string {
  if (d.mean === null) return '—';
  const sign = d.mean > 0 ? '+' : '';
  return d.se === null ? `${sign}${fmt(d.mean)}` : `${sign}${fmt(d.mean)} ± ${fmt(d.se)}`;
}

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : m > 0 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** Table 1's cells as text: the head, then per arm its label and pass@k after Stage I, then after Stage II (the page draws the same). */
export function mainTableCells(r: ExperimentResults): { head: string[]; rows: string[][] } {
  const keys = r.metrics.filter((m) => m.startsWith('pass@'));
  const head = ['Arm', ...TRAINED_STAGES.flatMap((st) => keys.map((k) => `${k} after Stage ${st}`))];
  const rows = r.table.map((row) => [ARM_LABELS[row.arm] + (row.arm === 'base' ? ' †' : ''), ...TRAINED_STAGES.flatMap((st) => keys.map((k) => fmtSpread(row.cells[st][k], r.seeds.length)))]);
  return { head, rows };
}

/** The Table 1 rows: arm, then pass@k after Stage I, then after Stage II. */
export function mainTable(r: ExperimentResults): string[] {
  const { head, rows } = mainTableCells(r);
  return table(head, rows);
}

/** The paired differences of one metric at one stage, and the orderings that exceed 1 and 2 standard errors. */
function pairedSection(r: ExperimentResults, metric: string): string[] {
  const out: string[] = [];
  for (const st of TRAINED_STAGES) {
    const ds = r.paired.filter((d) => d.stage === st && d.metric === metric);
    if (ds.length === 0) continue;
    out.push('', `**After Stage ${st}, ${metric}** (A − B, mean ± SE over ${r.seeds.length} paired seeds)`, '');
    out.push(...table(['A', 'B', 'A − B', 'seeds', '> 1 SE', '> 2 SE', 't', 'p < 0.05'], ds.map((d) => [d.a, d.b, fmtDiff(d), String(d.seeds.length), d.exceeds1se ? 'yes' : 'no', d.exceeds2se ? 'yes' : 'no', d.t === null ? '—' : d.t.toFixed(1), d.p05 ? 'yes' : 'no'])));
    const names = (xs: PairedDifference[]): string => {
      const o = xs.map(ordering).filter((x) => x !== null);
      return o.length > 0 ? o.join('; ') : 'none';
    };
    out.push(
      '',
      `Orderings beyond 2 SE: ${names(ds.filter((d) => d.exceeds2se))}.`,
      `Orderings beyond 1 SE (but not 2): ${names(ds.filter((d) => d.exceeds1se && !d.exceeds2se))}.`,
      `Orderings at p < 0.05 (paired t-test, two-sided): ${names(ds.filter((d) => d.p05))}.`,
    );
  }
  return out;
}

/** Steps at each end of a stage compared in "Learning on the training prompts". */
export const CHANGE_WINDOW = 10;

/** correct_frac and reward_mean over each stage's first and last CHANGE_WINDOW steps, per arm (SFT's Stage I has no rollouts). */
function trainingSection(r: ExperimentResults): string[] {
  const w = CHANGE_WINDOW;
  const n = r.seeds.length;
  const correct = stageChanges(r, 'correct_frac', w);
  const reward = stageChanges(r, 'reward_mean', w);
  const rows = correct.map((c) => {
    const rw = reward.find((x) => x.arm === c.arm && x.stage === c.stage);
    return [ARM_LABELS[c.arm], c.stage, fmtSpread(c.first, n), fmtSpread(c.last, n), fmtSpread(c.change, n), `${c.rose} of ${c.change.n}`, rw === undefined ? '—' : fmtSpread(rw.change, n)];
  });
  return [
    '',
    '## Learning on the training prompts',
    '',
    `The share of correct rollouts over a stage's first ${w} steps and its last ${w} (a shorter stage compares halves). Each step draws prompts the run has not trained on, but every arm of a seed draws the same prompts in the same order, so a change that every arm shares may be the prompts getting easier or harder, not learning: compare the arms with each other, or with a run of the same config whose weights do not move (lr near 0). Per seed last − first, then mean ± sd over seeds; "rose" counts the seeds where it went up. The reward's change is on the stage's own judge scale.`,
    '',
    ...table(['Arm', 'Stage', `correct_frac, first ${w}`, `correct_frac, last ${w}`, 'change', 'rose', 'reward change'], rows),
  ];
}

/** " The steps ran on: a (2 sessions), b. 1 session did not record its commit." (the sessions' commits in order); empty for none. */
export function sessionCommits(commits: readonly (string | null)[]): string {
  if (commits.length === 0) return '';
  const counts = new Map<string, number>();
  for (const c of commits) if (c !== null) counts.set(c, (counts.get(c) ?? 0) + 1);
  const unknown = commits.filter((c) => c === null).length;
  const parts = [...counts].map(([c, n]) => (n > 1 ? `${c} (${n} sessions)` : c));
  const ran = parts.length > 0 ? ` The steps ran on: ${parts.join(', ')}.` : '';
  const none = unknown === 0 ? '' : unknown === 1 ? ' 1 session did not record its commit.' : ` ${unknown} sessions did not record their commits.`;
  return ran + none;
}

export function renderReport(r: ExperimentResults): string {
  const h = r.held_equal;
  const passKeys = r.metrics.filter((m) => m.startsWith('pass@'));
  const unfinished = r.runs.filter((x) => x.status !== 'finished');
  const lines: string[] = [
    `# Experiment \`${r.plan}\`: ${r.arms.length} arms × ${r.seeds.length} seeds`,
    '',
    `Unbiased pass@k on ${h.eval.prompts} test prompts × ${h.eval.n} samples (split \`test\`, the same prompts for every seed), mean ± sd over seeds ${r.seeds.join(', ')}.`,
    '',
    ...mainTable(r),
    '',
    '† The base arm has no Stage I: its "after Stage I" cells are the base policy\'s evaluation, one per seed, which every arm of that seed shares; it then runs the same Stage II as the others.',
  ];
  if (unfinished.length > 0) {
    lines.push('', `Not finished: ${unfinished.map((x) => `${x.id} (${x.status})`).join(', ')}. Their cells are left out; re-run the same command to continue.`);
  }
  lines.push('', '## Differences between arms, paired by seed');
  const tests = r.paired.filter((d) => d.t !== null && (d.metric === passKeys[0] || d.metric === passKeys[passKeys.length - 1])).length;
  lines.push(
    '',
    'For each seed the difference A − B; its mean, and the standard error of that mean (sd of the differences / √seeds). An ordering "exceeds" its standard error when |mean| > SE (and > 2 SE).',
    `t = mean / SE has seeds − 1 degrees of freedom: with few seeds, 2 SE is weak evidence (at 2 degrees of freedom a two-sided 5% test needs |t| > ${tCritical95(2)}). "p < 0.05" is that test for one comparison; the tables below make ${tests}, so about ${Math.round(tests * 0.05)} would pass at p < 0.05 by chance alone if no arm differed.`,
  );
  for (const m of [...new Set([passKeys[0], passKeys[passKeys.length - 1]])]) lines.push(...pairedSection(r, m));
  lines.push('', 'results.json holds the same for every pass@k, mean@n and sound@n.');

  lines.push('', '## Correct answers reached by right work', '', 'mean@n is the share of samples with the correct answer; sound@n the share with the correct answer and every line a true step by the rubric\'s rules. The difference is answers guessed after a false step. Mean ± sd over seeds.', '');
  lines.push(...table(['Arm', ...TRAINED_STAGES.flatMap((st) => [`mean@n after Stage ${st}`, `sound@n after Stage ${st}`])], r.table.map((row) => [
    ARM_LABELS[row.arm] + (row.arm === 'base' ? ' †' : ''),
    ...TRAINED_STAGES.flatMap((st) => ['mean@n', SOUND_KEY].map((k) => fmtSpread(row.cells[st][k], r.seeds.length))),
  ])));

  lines.push('', '## Reward that went to wrong rollouts', '', 'Per arm, the reward given to rollouts whose answer was wrong over all reward given (unmasked rollouts, from rollouts.jsonl), mean ± sd over seeds. Stage II rewards only correct answers, so its share is 0 unless a rule pays a wrong one.', '');
  lines.push(...table(['Arm', 'Stage I', 'Stage II'], r.arms.map((a) => [ARM_LABELS[a], fmtSpread(r.wrong_reward_share[a]?.I, r.seeds.length), fmtSpread(r.wrong_reward_share[a]?.II, r.seeds.length)])));

  lines.push(...trainingSection(r));

  lines.push('', '## Curves (mean over seeds)', '');
  for (const p of PLOT_FILES) lines.push(`![${p.caption}](plots/${p.name}.svg)`, '');

  const fams = h.tasks.families.join(', ');
  const d = h.tasks.difficulties;
  lines.push(
    '## What was held equal',
    '',
    `- Policy: \`${h.policy}\` (the shipped base) for every arm; seeds ${h.seeds.join(', ')}: seed s sets seeds.init, seeds.data and seeds.sampling of every arm's run to s.`,
    `- Tasks: ${fams}; difficulties easy ${d.easy.join(',')} · mid ${d.mid.join(',')} · rl ${d.rl.join(',')} · eval ${d.eval.join(',')}. Stage I draws from \`mid\`, Stage II from \`rl\`.`,
    `- Stage I: ${h.stageI.steps} steps for every arm. RL arms: ${h.stageI.promptsPerStep} prompts × ${h.stageI.rolloutsPerPrompt} rollouts per step (${h.stageI.samplesPerStep} samples), temperature ${h.stageI.temperature}, at most ${h.stageI.maxResponseTokens} response tokens, KL coefficient ${h.stageI.klCoef}; epsHigh as each method's default. SFT: ${h.stageI.sftExamplesPerStep} reference examples per step. Every arm draws from the same ${h.stageI.distinctPrompts} Stage I prompts per seed.`,
    `- Judge: \`${h.judge}\` (ExpRL-Outcome and both ExpRL-Process arms; the guard is on except in the unguarded arm).`,
    `- Stage II (every arm, the same): ${h.stageII.method}, ${h.stageII.steps} steps of ${h.stageII.promptsPerStep} prompts × ${h.stageII.rolloutsPerPrompt} rollouts on \`${h.stageII.split}\`, lr ${h.stageII.lr}, KL coefficient ${h.stageII.klCoef}, at most ${h.stageII.maxResponseTokens} response tokens. The base arm runs it as its first stage, the others as their second; every arm draws the same Stage II prompts with the same sampling seeds.`,
    `- Evaluation: ${h.eval.prompts} prompts of split \`${h.eval.split}\` drawn with eval seed ${h.eval.seed} (the same for every seed), ${h.eval.n} samples each at temperature ${h.eval.temperature}, at most ${h.eval.maxResponseTokens} tokens, pass@${h.eval.k.join(', pass@')}.`,
    '',
    'Learning rates (the one setting that differs; set on the dev split, never on test):',
    '',
    ...table(['Stage', 'lr'], Object.entries(r.learning_rates).map(([k, v]) => [k === 'stage2' ? 'Stage II (all arms)' : `Stage I, ${k}`, String(v)])),
    '',
    '## Run',
    '',
    `- Commit: ${r.commit ?? 'unknown'}; exprl-lab ${r.package_version}.${sessionCommits(r.session_commits ?? [])}`,
    `- Adapter: ${r.adapters.length > 0 ? r.adapters.join('; ') : 'unknown'}.`,
    `- Wall time: ${fmtDuration(r.wall_s)} in all (${r.runs.map((x) => `${x.id} ${fmtDuration(x.wall_s ?? NaN)}`).join(', ')}).`,
    `- Written ${r.generated_at}.`,
    '',
  );
  return lines.join('\n');
}

/** tuning.md: per arm, each rate's dev evaluation, KL to the base and reward at the stage's end; the rates chosen. */
export function renderTuningReport(t: TuningResults): string {
  const keys = [...t.metrics.filter((m) => m.startsWith('pass@')), ...t.metrics.filter((m) => m === SOUND_KEY)];
  const seeds = t.seeds.length;
  const chosenOf = (arm: string): number | null => t.chosen[arm === 'base' ? 'stage2' : arm] ?? null;
  const stageOf = (arm: string): string => (arm === 'base' ? 'Stage II alone, from the base policy' : 'Stage I');
  const lines: string[] = [
    `# Learning rates: \`exprl experiment --plan tune\` (${seeds} seed${seeds === 1 ? '' : 's'})`,
    '',
    `Each run is one stage of the replication's regime at one learning rate, evaluated after it on ${t.regime.eval.prompts} prompts of the **dev** split × ${t.regime.eval.n} samples (never the test split the replication reports). The rate chosen for an arm is the one with the highest mean dev ${t.metric}, the smaller rate on a tie. KL to the base and reward: mean over the stage's last ${TAIL_STEPS} steps.`,
    '',
    `Base policy on dev: ${keys.map((k) => `${k} ${fmtSpread(t.base[k], seeds)}`).join(', ')}.`,
    '',
  ];
  lines.push(...table(['Arm', 'Stage', 'lr', ...keys.map((k) => `dev ${k}`), 'KL to base', 'reward', 'chosen'], t.rows.map((r) => [
    ARM_LABELS[r.arm],
    stageOf(r.arm),
    lrLabel(r.lr),
    ...keys.map((k) => fmtSpread(r.cells[k], seeds)),
    fmtSpread(r.kl_base, seeds),
    fmtSpread(r.reward_mean, seeds),
    chosenOf(r.arm) === r.lr ? '**yes**' : r.finished < seeds ? `(${r.finished}/${seeds} finished)` : '',
  ])));
  lines.push('', 'Chosen rates (`LEARNING_RATES` in src/rl/experiment/plans.ts; the unguarded ExpRL-Process arm takes the guarded arm\'s):', '');
  // A rate at either end of its grid was not bracketed: a rate beyond it might do better.
  const atEdge = (k: string, v: number): boolean => {
    const g = t.grid[k as keyof typeof t.grid];
    return g !== undefined && g.length > 1 && (v === Math.min(...g) || v === Math.max(...g));
  };
  const rateCell = (k: string, v: number | null): string => (v === null ? '— (not every rate finished)' : atEdge(k, v) ? `${lrLabel(v)} (edge of the grid: a rate beyond it was not tried)` : lrLabel(v));
  lines.push(...table(['Stage', 'lr'], Object.entries(t.chosen).map(([k, v]) => [k === 'stage2' ? 'Stage II (all arms)' : `Stage I, ${k}`, rateCell(k, v)])));
  lines.push(
    '',
    '## Run',
    '',
    `- Commit: ${t.commit ?? 'unknown'}; exprl-lab ${t.package_version}.`,
    `- Adapter: ${t.adapters.length > 0 ? t.adapters.join('; ') : 'unknown'}.`,
    `- Wall time: ${fmtDuration(t.wall_s)} in all.`,
    `- Written ${t.generated_at}.`,
    '',
  );
  return lines.join('\n');
}
