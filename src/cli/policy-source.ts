/**
 * Opens the model a run config names, in Node: "builtin" (a freshly initialised built-in
 * policy), "builtin-base" (the shipped pre-trained built-in policy in public/models), a
 * checkpoint folder, or a Hugging Face model id (downloaded into memory).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/runtime';
import { createBuiltinPolicy } from '../model/builtin';
import { memoryFiles } from '../model/checkpoint';
import { downloadModel } from '../model/hub';
import { PolicySession } from '../model/session';

/** Where the shipped pre-trained built-in policy lives, relative to the package root. */
export const BUILTIN_BASE_PATH = 'public/models/builtin-base';

/** The folder holding this package's package.json (works from src/ and from dist-cli/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'exprl-lab') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the exprl-lab package folder (package.json) above this script');
    dir = up;
  }
}

export interface OpenedPolicy {
  session: PolicySession;
  /** Initialised for this run (Stage 0 applies). */
  fresh: boolean;
  /** What was opened, for messages. */
  where: string;
}

export async function openPolicy(gpu: Gpu, policy: string, initSeed: number): Promise<OpenedPolicy> {
  if (policy === 'builtin') {
    const p = createBuiltinPolicy(initSeed);
    return { session: PolicySession.fromValues(gpu, p.config, p.params, p.tokenizer), fresh: true, where: `built-in policy (seed ${initSeed})` };
  }
  if (policy === 'builtin-base') {
    const dir = join(packageRoot(), BUILTIN_BASE_PATH);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new Error(`the shipped pre-trained built-in policy is missing from ${dir}; run \`npm run make-base\` to make it, or use policy "builtin" (Stage 0 then pre-trains from scratch)`);
    }
    return { session: await PolicySession.load(gpu, dir), fresh: false, where: dir };
  }
  if (existsSync(policy)) return { session: await PolicySession.load(gpu, resolve(policy)), fresh: false, where: policy };
  if (/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(policy)) {
    const m = await downloadModel(policy);
    return { session: await PolicySession.load(gpu, memoryFiles(m.files, `hf:${policy}`)), fresh: false, where: `hf:${policy}` };
  }
  throw new Error(`policy ${JSON.stringify(policy)} is neither "builtin", "builtin-base", an existing folder nor a Hugging Face id (owner/name)`);
}
