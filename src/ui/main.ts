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
    app.replaceChildren(statusPanel(status), el('section', { className: 'panel' }, button, results));
  } catch (e) {
    notice.className = 'notice error';
    notice.textContent = e instanceof Error ? e.message : String(e);
  }
}

void start();
