/**
 * A one-line progress bar for a terminal (stderr): phase, stage, step and a bar, redrawn in
 * place. When stderr is not a terminal it draws nothing, and notes are plain lines.
 */
import type { RunProgress } from '../rl/run';

const WIDTH = 24;

export class ProgressBar {
  private shown = false;
  private readonly t0 = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  update(p: RunProgress): void {
    if (!this.tty) return;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(frac * WIDTH);
    const what = p.phase === 'pretrain' ? 'Stage 0 pre-training' : p.phase === 'eval' ? `eval (stage ${p.stage})` : `Stage ${roman(p.stage)} ${p.method}`;
    const unit = p.phase === 'eval' ? 'prompts' : 'steps';
    const elapsed = Math.round((Date.now() - this.t0) / 1000);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${what} ${p.done}/${p.total} ${unit} · ${elapsed}s`;
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  note(message: string): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.stream.write(message + '\n');
    this.shown = false;
  }

  done(): void {
    if (this.shown) this.stream.write('\n');
    this.shown = false;
  }
}

function roman(n: number): string {
  return ['0', 'I', 'II', 'III', 'IV', 'V'][n] ?? String(n);
}
