// A circuit breaker for a judge: after `after` calls in a row fail (each after its retries), it
// opens and stays open. An open breaker makes the judge fail every call at once, without
// contacting anything, and names why, so the run can pause (resumable) instead of masking
// rollout after rollout while each call waits out its retries.

export class CircuitBreaker {
  private failuresInRow = 0;
  private why: string | null = null;

  /** `what` names the endpoint or model in the reason ("http://127.0.0.1:8000", "self-judge"). */
  constructor(
    private readonly after: number,
    private readonly what: string,
  ) {
    if (!Number.isInteger(after) || after < 1) throw new Error(`breakerAfter must be an integer >= 1, got ${after}`);
  }

  /** The reason once open; null while closed. */
  open(): string | null {
    return this.why;
  }

  success(): void {
    if (this.why === null) this.failuresInRow = 0;
  }

  failure(message: string): void {
    if (this.why !== null) return;
    this.failuresInRow++;
    if (this.failuresInRow >= this.after) {
      this.why = `the judge ${this.what} failed ${this.failuresInRow} calls in a row (judge.breakerAfter ${this.after}), so it makes no more calls; the last failure: ${message}`;
    }
  }
}
