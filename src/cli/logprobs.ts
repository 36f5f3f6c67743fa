/** `exprl logprobs`: each token's log-probability under a model, given the tokens before it. */
import { PolicySession } from '../model/session';
import { commandHelp, parseArgs, type CommandSpec } from './args';
import { withGpu } from './gpu';

export const LOGPROBS: CommandSpec = {
  name: 'logprobs',
  summary: "Scores a text with a model: the token ids its tokenizer produces and each token's log-probability given the ones before it (temperature 1).",
  details:
    'Prints one line of JSON: {"tokens": [ids...], "logprobs": [...]}, with one log-prob fewer than tokens\n' +
    '(the first token has none). Special tokens come only from the text and from the model\'s own tokenizer where it\n' +
    'adds them itself (the built-in tokenizer adds none: write <bos> in the text to score one). Text the tokenizer\n' +
    'cannot encode is an error.',
  options: {
    model: { kind: 'string', value: 'DIR', required: true, help: 'Hugging Face model folder (e.g. from `exprl init`)' },
    text: { kind: 'string', value: 'TEXT', required: true, help: 'the text to score' },
  },
};

export async function logprobs(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(LOGPROBS, argv);
  if (parsed.help) {
    console.log(commandHelp(LOGPROBS));
    return 0;
  }
  const o = parsed.options;
  await withGpu(async ({ gpu }) => {
    const session = await PolicySession.load(gpu, o.string('model') as string);
    try {
      for (const w of session.warnings) console.error(`exprl logprobs: note: ${w}`);
      const r = await session.tokenLogprobs(o.string('text') as string);
      console.log(JSON.stringify({ tokens: r.tokens, logprobs: r.logprobs }));
    } finally {
      session.destroy();
    }
  });
  return 0;
}
