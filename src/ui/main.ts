/** The page: starts the engine worker and shows what the GPU engine found and chose. */
import * as Comlink from 'comlink';
import type { EngineApi, EngineStatus } from '../worker/api';
import { el, table } from './dom';

const app = document.getElementById('app')!;

function statusPanel(status: EngineStatus): HTMLElement {
  const { adapter, kernels } = status;
  const probe = kernels.probe.map((p) => `${p.variant}: ${p.gflops.toFixed(2)} GFLOP/s`).join(', ');
  return el(
    'section',
    { className: 'panel' },
    el('h2', { text: 'GPU engine' }),
    table([
      ['adapter', adapter.description],
      ['kind', adapter.isSoftware ? 'software (CPU) adapter: expect small models only' : 'hardware GPU'],
      ['max buffer', `${((adapter.limits.maxBufferSize ?? 0) / 2 ** 20).toFixed(0)} MiB`],
      ['storage buffers per stage', String(adapter.limits.maxStorageBuffersPerShaderStage ?? '?')],
      ['matmul schedules', `${kernels.matmul.join(' > ')} (probe: ${probe || 'cached'})`],
      ['row-wise kernels', `${kernels.rowWidth} rows (${kernels.rowProbe.map((r) => `${r.width}: ${r.ms.toFixed(1)} ms`).join(', ')})`],
    ]),
  );
}

/** The built-in policy: create it from a seed and sample from a prompt (its text is shown as text). */
function policyPanel(engine: Comlink.Remote<EngineApi>): HTMLElement {
  const info = el('p', { className: 'policy-info', text: 'No policy yet.' });
  const seed = el('input');
  seed.type = 'number';
  seed.value = '1';
  seed.setAttribute('aria-label', 'seed');
  const create = el('button', { text: 'Create built-in policy' });
  const prompt = el('input');
  prompt.value = '2+3=';
  prompt.setAttribute('aria-label', 'prompt');
  const sample = el('button', { text: 'Sample 4' });
  sample.disabled = true;
  const out = el('ol', { className: 'samples' });
  create.addEventListener('click', async () => {
    create.disabled = true;
    try {
      const p = await engine.createBuiltinPolicy(Number(seed.value) || 0);
      info.textContent = `Built-in policy: ${p.parameters.toLocaleString('en')} parameters, ${p.config.nLayers} layers, d=${p.config.dModel}, vocabulary ${p.config.vocabSize} characters (untrained).`;
      sample.disabled = false;
    } catch (e) {
      info.textContent = `could not create the policy: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      create.disabled = false;
    }
  });
  sample.addEventListener('click', async () => {
    sample.disabled = true;
    try {
      const rows = await engine.sample(prompt.value, { n: 4, temperature: 0.8, seed: Date.now() % 100000, maxTokens: 24 });
      out.replaceChildren(...rows.map((r) => el('li', { text: `${prompt.value}${r.text}  (${r.finish})` })));
    } catch (e) {
      out.replaceChildren(el('li', { className: 'error', text: e instanceof Error ? e.message : String(e) }));
    } finally {
      sample.disabled = false;
    }
  });
  return el('section', { className: 'panel' }, el('h2', { text: 'Policy' }), info, el('div', { className: 'row' }, seed, create), el('div', { className: 'row' }, prompt, sample), out);
}

async function start(): Promise<void> {
  const notice = el('p', { className: 'notice', text: 'Starting the GPU engine…' });
  app.replaceChildren(notice);
  const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' });
  const engine = Comlink.wrap<EngineApi>(worker);
  try {
    const status = await engine.init();
    const results = el('pre', { className: 'results' });
    const button = el('button', { text: 'Check kernels (256×256×256)' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      results.textContent = 'running…';
      try {
        const rows = await engine.selfCheck(256, 256, 256);
        results.textContent = rows
          .map((r) => `${r.variant.padEnd(9)} relative L2 error ${r.relL2.toExponential(2)}  ${r.ms.toFixed(1)} ms`)
          .join('\n');
      } catch (e) {
        results.textContent = `check failed: ${e instanceof Error ? e.message : String(e)}`;
      } finally {
        button.disabled = false;
      }
    });
    app.replaceChildren(statusPanel(status), el('section', { className: 'panel' }, button, results), policyPanel(engine));
  } catch (e) {
    notice.className = 'notice error';
    notice.textContent = e instanceof Error ? e.message : String(e);
  }
}

void start();
