/**
 * The judge's API key in `exprl`: read from the environment variable judge.apiKeyEnv names
 * (there is no default variable, so a shared config cannot send a key anywhere unasked), and
 * kept out of every output. Once a key is read, the process's stdout and stderr, and every run
 * file run-exec writes, pass through one redactor (src/judge/redact.ts) that knows it.
 */
import { Redactor } from '../judge/redact';
import type { JudgeConfig } from '../rl/config';
import { UsageError } from './args';

/** The secrets this process has read; every output of exprl passes through it. */
export const cliRedactor = new Redactor();

/** A text as exprl may show or write it. */
export function redactText(text: string): string {
  return cliRedactor.text(text);
}

let outputGuarded = false;

/** stdout and stderr redacted from now on (string chunks; a key split across two writes is not seen). */
function guardOutput(): void {
  if (outputGuarded) return;
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? redactText(chunk) : chunk, ...rest)) as typeof stream.write;
  }
}

/** A variable name as a message may show it: names that look like keys (not upper case) are not shown. */
function showName(name: string): string {
  return /^[A-Z_][A-Z0-9_]{0,63}$/.test(name) ? name : `(a ${name.length}-character name, not shown: is it the key itself rather than the variable's name?)`;
}

export interface JudgeKey {
  key: string;
  /** For the user, before the first call: which variable's key goes to which origin. */
  line: string;
}

/**
 * The key judge.apiKeyEnv names, registered with the redactor; null when the config names no
 * variable. A usage error when the variable is unset or empty, or the judge is not "openai".
 */
export function readJudgeKey(j: JudgeConfig, env: NodeJS.ProcessEnv = process.env): JudgeKey | null {
  if (j.apiKeyEnv === '') return null;
  if (j.kind !== 'openai') throw new UsageError(`judge.apiKeyEnv (--judge-api-key-env) applies to judge.kind "openai" only; the judge is "${j.kind}"`);
  const key = env[j.apiKeyEnv];
  if (key === undefined || key === '') {
    throw new UsageError(`judge.apiKeyEnv names the environment variable ${showName(j.apiKeyEnv)}, which is not set (or empty); export it with the judge's API key`);
  }
  cliRedactor.add(key);
  guardOutput();
  const origin = new URL(j.endpoint).origin;
  return { key, line: `the API key in $${j.apiKeyEnv} goes to ${origin} only, in the Authorization header (judge.apiKeyEnv)` };
}
