/**
 * Runs the built `exprl` command for end-to-end tests (Node only): builds it once per test file,
 * gives each file its own temporary folder, and keeps kernel choices out of the user's cache.
 */
import { afterAll, beforeAll } from 'vitest';

export interface Run {
  /** Exit code; -1 when a signal ended the process. */
  code: number;
  /** The signal that ended the process, or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Time limit (default two minutes). */
  ms?: number;
  /** Variables added to the command's environment. */
  env?: Record<string, string>;
}

export interface ExprlHarness {
  /** The temporary folder of this test file ('' before beforeAll ran). */
  root(): string;
  run(...args: string[]): Promise<Run>;
  /** The same with a time limit other than two minutes. */
  runWithin(ms: number, ...args: string[]): Promise<Run>;
  /** The same with a time limit and extra environment variables. */
  runWith(options: RunOptions, ...args: string[]): Promise<Run>;
}

/** Call at the top of a describe block that only runs in Node. */
export function useExprl(prefix: string): ExprlHarness {
  let root = '';
  let env: NodeJS.ProcessEnv = {};
  beforeAll(async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { execFileSync } = await import('node:child_process');
    root = await mkdtemp(`${tmpdir()}/${prefix}-`);
    env = { ...process.env, XDG_CACHE_HOME: `${tmpdir()}/exprl-lab-cli-test-cache` };
    execFileSync('npm', ['run', '--silent', 'build:cli'], { stdio: 'pipe' });
  }, 180_000);
  afterAll(async () => {
    const { rm } = await import('node:fs/promises');
    if (root !== '') await rm(root, { recursive: true, force: true });
  });
  const runWith = async (options: RunOptions, ...args: string[]): Promise<Run> => {
    const { execFile } = await import('node:child_process');
    return new Promise((resolve) => {
      execFile('node', ['bin/exprl.js', ...args], { env: { ...env, ...options.env }, timeout: options.ms ?? 120_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, signal: err?.signal ?? null, stdout, stderr });
      });
    });
  };
  const runWithin = (ms: number, ...args: string[]): Promise<Run> => runWith({ ms }, ...args);
  return { root: () => root, run: (...args) => runWith({}, ...args), runWithin, runWith };
}
