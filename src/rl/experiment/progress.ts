/**
 * The experiment's ETA: the steps left in every planned run, times the mean wall time of the
 * steps made so far in this session (evaluations and run set-up fall into that mean). Pure: the
 * caller gives the clock readings.
 */
export class ExperimentClock {
  /** The steps finished in this session, by key: a step made again (after a device loss, from the last checkpoint) counts once. */
  private readonly seen = new Set<string>();

  /**
   * @param total optimizer steps of every planned run together
   * @param doneBefore steps already made (finished runs and resumed parts)
   * @param startedAt clock reading (seconds) when this session started working
   */
  constructor(
    readonly total: number,
    private readonly doneBefore: number,
    private readonly startedAt: number,
  ) {}

  /** A step finished; `key` names it (run, stage and step), so a step made twice counts once. */
  step(key: string): void {
    this.seen.add(key);
  }

  private get doneHere(): number {
    return this.seen.size;
  }

  get done(): number {
    return this.doneBefore + this.doneHere;
  }

  /** Seconds per step in this session so far; null before the first step. */
  secondsPerStep(now: number): number | null {
    return this.doneHere === 0 ? null : (now - this.startedAt) / this.doneHere;
  }

  /** Seconds left for the whole experiment; null before the first step. */
  eta(now: number): number | null {
    const per = this.secondsPerStep(now);
    return per === null ? null : per * Math.max(0, this.total - this.done);
  }
}

/** "1h02m", "4m05s", "12s". */
export function shortDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
