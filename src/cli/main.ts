/**
 * The `exprl` command (Node, WebGPU through the `webgpu` package). Commands are small functions
 * that wire the layers; this file only parses arguments and prints.
 */
import { tuneKernels } from '../gpu/autotune';
import { FileChoiceStore } from '../gpu/choice-store-node';
import { createNodeGpu } from '../gpu/node-gpu';
import { Gpu } from '../gpu/runtime';

const USAGE = `usage: exprl <command> [options]

commands:
  info [--probe]   print the WebGPU adapter, its limits and the kernel variants chosen for it
                   (--probe measures them again instead of using the cached choice)
  help             this text

Run \`exprl <command> --help\` for a command's options.`;

async function openGpu(): Promise<{ gpu: Gpu; via: string }> {
  const { gpu, via } = await createNodeGpu();
  return { gpu: await Gpu.create(gpu, 'Node (Dawn)'), via };
}

async function info(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log('usage: exprl info [--probe]\n\nPrints one JSON object: adapter, limits, features and the matmul schedule chosen for this adapter.');
    return 0;
  }
  const unknown = args.filter((a) => a !== '--probe');
  if (unknown.length > 0) throw new Error(`exprl info: unknown argument ${unknown[0]}`);
  const { gpu, via } = await openGpu();
  try {
    const choice = await tuneKernels(gpu, new FileChoiceStore(), args.includes('--probe'));
    console.log(JSON.stringify({ adapter: gpu.adapter, via, kernels: choice }, null, 2));
  } finally {
    await gpu.sync();
    gpu.destroy();
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      case 'info':
        return await info(rest);
      default:
        console.error(`exprl: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    console.error(`exprl ${command}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
