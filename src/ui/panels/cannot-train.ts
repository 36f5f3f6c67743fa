/**
 * What the page says when the GPU engine cannot start: why this browser cannot train (no WebGPU,
 * no adapter, a worker that did not load), what to do about it in the user's words, where WebGPU
 * works, and the engine's own words, as text.
 */
import { el } from '../dom';
import { browserInfo, webgpuAdvice, webgpuProblem, WHERE_WEBGPU_WORKS } from '../state/webgpu-advice';

export function cannotTrain(error: { name?: string; message?: string }): HTMLElement {
  const problem = webgpuProblem(error);
  const advice = webgpuAdvice(problem, browserInfo(navigator.userAgent));
  const title = problem === 'other' ? 'The GPU engine did not start' : 'No WebGPU here: this browser cannot train';
  return el(
    'section',
    { className: 'panel no-webgpu', attrs: { role: 'alert' } },
    el('h2', { text: title }),
    el('p', { className: 'webgpu-why', text: advice.why }),
    el('p', { className: 'webgpu-todo', text: advice.todo }),
    el('p', { text: 'Where WebGPU works:' }),
    el('ul', { className: 'webgpu-where' }, ...WHERE_WEBGPU_WORKS.map((w) => el('li', { text: w }))),
    el('p', { className: 'notice error', text: `The engine said: ${error.message ?? String(error)}`, live: 'assertive' }),
  );
}
