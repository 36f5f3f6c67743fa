/** `exprl info`: the adapter, its limits and the kernel variants chosen for it. */
import { commandHelp, parseArgs, type CommandSpec } from './args';
import { withGpu } from './gpu';

export const INFO: CommandSpec = {
  name: 'info',
  summary: 'Prints one JSON object: adapter, limits, features and the matmul schedule chosen for this adapter.',
  options: {
    probe: { kind: 'flag', help: 'measure the kernel variants again instead of using the cached choice' },
  },
};

export async function info(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(INFO, argv);
  if (parsed.help) {
    console.log(commandHelp(INFO));
    return 0;
  }
  await withGpu(async ({ gpu, via, kernels }) => {
    console.log(JSON.stringify({ adapter: gpu.adapter, via, kernels }, null, 2));
  }, parsed.options.flag('probe'));
  return 0;
}
