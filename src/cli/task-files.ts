/** Task items from a dataset file or a Hub dataset (Node), bad rows reported on stderr and skipped. */
import { importHubDataset } from '../tasks/hub-dataset';
import { importTaskFile } from '../tasks/load';
import type { TaskItem } from '../tasks/types';
import type { TaskSpec } from './eval-spec';

export async function readTaskSpec(spec: Exclude<TaskSpec, { kind: 'builtin' }>, who: string, requireReference: boolean): Promise<{ items: TaskItem[]; where: string }> {
  let r;
  let where: string;
  if (spec.kind === 'hub') {
    r = await importHubDataset(spec.dataset, { requireReference });
    where = r.url;
  } else {
    const { readFile } = await import('node:fs/promises');
    r = await importTaskFile(spec.path, await readFile(spec.path), { requireReference });
    where = spec.path;
  }
  for (const e of r.errors) console.error(`${who}: note: ${where} row ${e.row}${e.line !== undefined ? ` (line ${e.line})` : ''} skipped: ${e.field}: ${e.message}`);
  return { items: r.items, where };
}
