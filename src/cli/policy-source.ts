/**
 * Opens the model a run config names, in Node: "builtin" (a freshly initialised built-in
 * policy), "builtin-base" (the shipped pre-trained built-in policy in public/models), a
 * checkpoint folder, or a Hugging Face model id (downloaded into memory).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/runtime';
import { createBuiltinPolicy } from '../model/builtin';
import { CONFIG_FILE, memoryFiles, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from '../model/checkpoint';
import { downloadModel, probeHubModel, type DownloadProgress, type ModelProbe } from '../model/hub';
import { PolicySession } from '../model/session';
import { openTransformersChat } from '../model/transformers-chat';
import type { LocalJudgeOpeners } from '../rl/run-judge';

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

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

export interface OpenedPolicy {
  session: PolicySession;
  /** Initialised for this run (Stage 0 applies). */
  fresh: boolean;
  /** What was opened, for messages. */
  where: string;
}

/**
 * Why `policy` names no policy this command could open, or null: checked before a run folder is
 * written, so that a mistyped path fails at once and leaves nothing behind.
 */
export function policySourceProblem(policy: string): string | null {
  if (policy === 'builtin' || existsSync(policy) || HUB_ID.test(policy)) return null;
  if (policy === 'builtin-base') {
    const dir = join(packageRoot(), BUILTIN_BASE_PATH);
    return existsSync(join(dir, 'config.json')) ? null : `the shipped pre-trained built-in policy is missing from ${dir}; run \`npm run make-base\` to make it, or use policy "builtin" (Stage 0 then pre-trains from scratch)`;
  }
  return `policy ${JSON.stringify(policy)} is neither "builtin", "builtin-base", an existing folder nor a Hugging Face id (owner/name)`;
}

export async function openPolicy(gpu: Gpu, policy: string, initSeed: number): Promise<OpenedPolicy> {
  const problem = policySourceProblem(policy);
  if (problem !== null) throw new Error(problem);
  if (policy === 'builtin') {
    const p = createBuiltinPolicy(initSeed);
    return { session: PolicySession.fromValues(gpu, p.config, p.params, p.tokenizer), fresh: true, where: `built-in policy (seed ${initSeed})` };
  }
  if (policy === 'builtin-base') {
    const dir = join(packageRoot(), BUILTIN_BASE_PATH);
    return { session: await PolicySession.load(gpu, dir), fresh: false, where: dir };
  }
  if (existsSync(policy)) return { session: await PolicySession.load(gpu, resolve(policy)), fresh: false, where: policy };
  const m = await downloadModel(policy);
  return { session: await PolicySession.load(gpu, memoryFiles(m.files, `hf:${policy}`)), fresh: false, where: `hf:${policy}` };
}

/** Where transformers.js keeps downloaded judge models in Node (onnxruntime-node loads from files). */
export function transformersCacheDir(): string {
  const base = process.env.EXPRL_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'exprl-lab');
  return join(base, 'transformers');
}

function probeFolder(dir: string): ModelProbe {
  const file = join(dir, CONFIG_FILE);
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${file}: must be a JSON object`);
  return { config: config as Record<string, unknown>, safetensors: existsSync(join(dir, WEIGHTS_FILE)) || existsSync(join(dir, WEIGHTS_INDEX_FILE)) };
}

/**
 * judge.kind "local" in Node: judge.model is a folder or a Hub id; our kernels load it in its own
 * slot (on the Gpu `gpu` opens, only then), or transformers.js runs it on onnxruntime-node (CPU).
 * `log` gets one line per file transformers.js finishes downloading.
 */
export function localJudgeOpeners(gpu: () => Promise<Gpu>, log: (line: string) => void): LocalJudgeOpeners {
  const isFolder = (model: string): boolean => existsSync(model);
  const checkId = (model: string): void => {
    if (!HUB_ID.test(model)) throw new Error(`judge model ${JSON.stringify(model)} is neither an existing folder nor a Hugging Face id (owner/name)`);
  };
  return {
    probe: async (model) => {
      if (isFolder(model)) return probeFolder(model);
      checkId(model);
      return probeHubModel(model);
    },
    kernels: async (model) => (await openPolicy(await gpu(), model, 0)).session,
    transformers: async (model, o) => {
      let done = 0;
      const onProgress = (p: DownloadProgress): void => {
        if (p.filesDone > done) log(`judge model ${model}: ${p.file} ready (${(p.loadedAll / 2 ** 20).toFixed(1)} MiB downloaded in all)`);
        done = p.filesDone;
      };
      if (isFolder(model)) {
        const dir = resolve(model);
        return openTransformersChat({ modelId: model, ...o, localFolder: { parent: dirname(dir), name: basename(dir) } });
      }
      checkId(model);
      return openTransformersChat({ modelId: model, ...o, cacheDir: transformersCacheDir(), onProgress });
    },
  };
}
