/** `exprl generate`: samples continuations of a prompt with the KV-cache decoder. */
import { MIN_TEMPERATURE } from '../gpu/ops/sampling';
import { PolicySession } from '../model/session';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import { withGpu } from './gpu';

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary: 'Samples N continuations of a prompt, seeded: the same seed gives the same samples on the same adapter.',
  details:
    'Prints one line of JSON per sample: {"text", "tokens", "logprobs", "finish"}: the response text (special\n' +
    'tokens left out), its token ids (a closing <eos> included), the log-prob of each under the full softmax at the\n' +
    'temperature (at 1 when greedy; top-k and top-p do not renormalise it, so it equals what training computes),\n' +
    'and why it ended: "eos", "stop" or "length".\n' +
    'The prompt is encoded as the model\'s tokenizer encodes text (the built-in one adds nothing; write <bos> in it to\n' +
    'start with that token).',
  options: {
    model: { kind: 'string', value: 'DIR', required: true, help: 'Hugging Face model folder (e.g. from `exprl init`)' },
    prompt: { kind: 'string', value: 'TEXT', required: true, help: 'the text to continue (at least one token)' },
    n: { kind: 'int', value: 'N', default: 1, min: 1, max: 4096, help: 'number of samples' },
    temperature: { kind: 'number', value: 'T', default: 1, min: 0, help: 'sampling temperature; 0 is greedy' },
    seed: { kind: 'int', value: 'S', default: 0, min: 0, max: 0xffffffff, help: 'sampling seed' },
    'max-tokens': { kind: 'int', value: 'M', default: 64, min: 1, help: 'response tokens per sample at most (also capped by the model length)' },
    'top-k': { kind: 'int', value: 'K', min: 1, help: 'sample among the K most likely tokens only (default: all)' },
    'top-p': { kind: 'number', value: 'P', above: 0, max: 1, help: 'sample from the smallest set of likeliest tokens with mass ≥ P (default 1: off)' },
    stop: { kind: 'string', value: 'TEXT', help: 'end a sample once its text contains TEXT' },
  },
};

export async function generateCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(GENERATE, argv);
  if (parsed.help) {
    console.log(commandHelp(GENERATE));
    return 0;
  }
  const o = parsed.options;
  const stop = o.string('stop');
  if (stop === '') throw new UsageError('--stop must not be empty');
  const temperature = o.number('temperature') as number;
  if (temperature > 0 && temperature < MIN_TEMPERATURE) throw new UsageError(`--temperature must be 0 (greedy) or ≥ ${MIN_TEMPERATURE}, got ${temperature}`);
  await withGpu(async ({ gpu }) => {
    const session = await PolicySession.load(gpu, o.string('model') as string);
    try {
      for (const w of session.warnings) console.error(`exprl generate: note: ${w}`);
      const samples = await session.sample(o.string('prompt') as string, {
        n: o.int('n') as number,
        temperature,
        topK: o.int('top-k'),
        topP: o.number('top-p'),
        seed: o.int('seed') as number,
        maxTokens: o.int('max-tokens') as number,
        stopStrings: stop === undefined ? undefined : [stop],
      });
      for (const s of samples) console.log(JSON.stringify(s));
    } finally {
      session.destroy();
    }
  });
  return 0;
}
