// results.md of an experiment (src/rl/experiment/report.ts) from synthetic results, and the SVG
// plots (src/cli/experiment-plots.ts: Observable Plot in Node with jsdom; no GPU).
import { describe, expect, it } from 'vitest';
import { ARM_LABELS, ARMS, LEARNING_RATES, resolvePlan } from '../../src/rl/experiment/plans';
import { fmtDuration, fmtSpread, mainTable, PLOT_FILES, renderReport, sessionCommits } from '../../src/rl/experiment/report';
import { buildResults } from '../../src/rl/experiment/results';
import { META, syntheticRuns } from './experiment-fixture';

const plan = resolvePlan('quick');
const results = buildResults(plan, syntheticRuns(plan), META);

describe('experiment report', () => {
  it('formats cells as mean ± sd, a single seed as its value, none as a dash', () => {
    expect(fmtSpread({ mean: 0.1234, sd: 0.0456, n: 3 }, 3)).toBe('0.123 ± 0.046');
    expect(fmtSpread({ mean: 0.5, sd: null, n: 1 }, 3)).toBe('0.500 (n=1)');
    expect(fmtSpread({ mean: null, sd: null, n: 0 }, 3)).toBe('—');
    expect([fmtDuration(42), fmtDuration(125), fmtDuration(3 * 3600 + 60 * 7)]).toEqual(['42 s', '2 min 05 s', '3 h 07 min']);
  });

  it('tables the arms as rows and pass@k after Stage I and after Stage II as columns', () => {
    const t = mainTable(results);
    expect(t[0]).toBe('| Arm | pass@1 after Stage I | pass@4 after Stage I | pass@1 after Stage II | pass@4 after Stage II |');
    expect(t).toHaveLength(2 + ARMS.length);
    expect(t[2].startsWith(`| ${ARM_LABELS.base} † | 0.065 ± 0.007 |`)).toBe(true);
    const sg = t.find((l) => l.startsWith(`| ${ARM_LABELS['sparse-grpo']} |`))!;
    // pass@1 after Stage I: 0.3 + 0.01·seed over seeds 1, 2 → 0.315 ± 0.007.
    expect(sg.split(' | ')[1]).toBe('0.315 ± 0.007');
  });

  it('writes the paired differences, the orderings beyond their SE, the wrong-reward share, what was held equal and where it ran', () => {
    const md = renderReport(results);
    expect(md).toContain('# Experiment `quick`: 7 arms × 2 seeds');
    expect(md).toContain('**After Stage I, pass@1**');
    expect(md).toContain('**After Stage II, pass@4**');
    expect(md).toMatch(/Orderings beyond 2 SE: .*exprl-process > sparse-grpo/);
    expect(md).toContain('| A | B | A − B | seeds | > 1 SE | > 2 SE | t | p < 0.05 |');
    expect(md).toMatch(/Orderings at p < 0\.05 \(paired t-test, two-sided\): /);
    expect(md).toMatch(/a two-sided 5% test needs \|t\| > 4\.303\)/);
    expect(md).toContain('## Correct answers reached by right work');
    // Sparse GRPO after Stage I: mean@n 0.315 ± 0.007, sound@n half of it (the fixture's).
    expect(md).toContain(`| ${ARM_LABELS['sparse-grpo']} | 0.315 ± 0.007 | 0.158 ± 0.004 |`);
    expect(md).toContain('## Reward that went to wrong rollouts');
    expect(md).toContain(`| ${ARM_LABELS['sparse-grpo']} | 0.300 ± 0.000 | 0.750 ± 0.000 |`);
    expect(md).toContain('## Learning on the training prompts');
    // The fixture's correct_frac is 0.25 at every step: no change in either seed.
    expect(md).toContain(`| ${ARM_LABELS['sparse-grpo']} | I | 0.250 ± 0.000 | 0.250 ± 0.000 | 0.000 ± 0.000 | 0 of 2 |`);
    expect(md).toContain('## What was held equal');
    expect(md).toContain('Stage I: 2 steps for every arm. RL arms: 2 prompts × 4 rollouts per step (8 samples)');
    expect(md).toContain('SFT: 8 reference examples per step');
    // The rates the plan resolved (LEARNING_RATES), as the report writes numbers.
    expect(md).toContain(`| Stage I, sft | ${String(LEARNING_RATES.sft)} |`);
    expect(md).toContain(`| Stage II (all arms) | ${String(LEARNING_RATES.stage2)} |`);
    expect(md).toContain('Commit: abc123; exprl-lab 0.1.0.');
    expect(md).toContain('Adapter: SwiftShader (software) via swiftshader.');
    expect(md).toContain('Wall time: 2 min 20 s in all');
    for (const p of PLOT_FILES) expect(md).toContain(`(plots/${p.name}.svg)`);
  });

  it('names the commits the sessions ran on, and the sessions that did not record one', () => {
    expect(sessionCommits([])).toBe('');
    expect(sessionCommits(['a1', 'a1', null, 'b2'])).toBe(' The steps ran on: a1 (2 sessions), b2. 1 session did not record its commit.');
    expect(sessionCommits([null, null])).toBe(' 2 sessions did not record their commits.');
    const md = renderReport(buildResults(plan, syntheticRuns(plan), { ...META, sessionCommits: ['abc123', 'def456'] }));
    expect(md).toContain('- Commit: abc123; exprl-lab 0.1.0. The steps ran on: abc123, def456.');
  });

  it('names runs that have not finished', () => {
    const runs = syntheticRuns(plan).map((r) => (r.id === 'sft-s2' ? { ...r, status: 'partial' as const } : r));
    expect(renderReport(buildResults(plan, runs, META))).toContain('Not finished: sft-s2 (partial).');
  });
});

describe('experiment plots', () => {
  it('draws every plot as a standalone SVG with Observable Plot', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { writePlots } = await import('../../src/cli/experiment-plots');
    const dir = await mkdtemp(`${tmpdir()}/exprl-plots-`);
    try {
      const written = await writePlots(dir, results);
      expect(written.map((p) => p.slice(dir.length))).toEqual(PLOT_FILES.map((p) => `/plots/${p.name}.svg`));
      for (const path of written) {
        const svg = await readFile(path, 'utf8');
        expect(svg.startsWith('<svg'), path).toBe(true);
        expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
        expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      }
      const curves = await readFile(`${dir}/plots/reward_mean.svg`, 'utf8');
      expect(curves).toContain(ARM_LABELS['exprl-process']);
      expect(curves).toMatch(/<path[^>]*d="M/);
      const pass = await readFile(`${dir}/plots/pass1.svg`, 'utf8');
      expect(pass).toContain('after Stage II');
      expect(pass).toContain(ARM_LABELS.sft);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
