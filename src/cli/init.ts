/** `exprl init`: writes a freshly initialised built-in policy as a Hugging Face folder. */
import { BUILTIN_CONFIG, createBuiltinPolicy, parameterCount } from '../model/builtin';
import { CONFIG_FILE, saveCheckpoint } from '../model/checkpoint';
import { commandHelp, parseArgs, type CommandSpec } from './args';

export const INIT: CommandSpec = {
  name: 'init',
  summary:
    `Saves a seeded built-in policy (character vocabulary, ${BUILTIN_CONFIG.nLayers} layers, d_model ${BUILTIN_CONFIG.dModel}, ` +
    `${parameterCount(BUILTIN_CONFIG)} parameters) as a Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json.`,
  details: 'Prints one line of JSON: {"out", "seed", "parameters", "files"}. Needs no GPU.',
  options: {
    out: { kind: 'string', value: 'DIR', required: true, help: 'folder to write (created if missing)' },
    seed: { kind: 'int', value: 'S', default: 0, min: 0, max: 0xffffffff, help: 'initialisation seed' },
    force: { kind: 'flag', help: 'overwrite a folder that already holds a checkpoint' },
  },
};

export async function init(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(INIT, argv);
  if (parsed.help) {
    console.log(commandHelp(INIT));
    return 0;
  }
  const o = parsed.options;
  const out = o.string('out') as string;
  const seed = o.int('seed') as number;
  const { existsSync } = await import('node:fs');
  const { mkdir } = await import('node:fs/promises');
  if (existsSync(`${out}/${CONFIG_FILE}`) && !o.flag('force')) throw new Error(`${out} already holds a checkpoint (${CONFIG_FILE}); pass --force to overwrite it`);
  await mkdir(out, { recursive: true });
  const policy = createBuiltinPolicy(seed);
  const { files } = await saveCheckpoint(out, policy.config, policy.params, policy.tokenizer.files(policy.config.maxSeqLen));
  console.log(JSON.stringify({ out, seed, parameters: parameterCount(policy.config), files }));
  return 0;
}
