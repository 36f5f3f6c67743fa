import type { TaskFamily } from '../types';
import { arithChain } from './arith-chain';
import { gcd } from './gcd';
import { linearEquation } from './linear-equation';
import { longAddition } from './long-addition';

export { arithChain, gcd, linearEquation, longAddition };

/** The built-in families, by name. */
export const FAMILIES: Readonly<Record<string, TaskFamily>> = Object.freeze({
  [arithChain.name]: arithChain,
  [longAddition.name]: longAddition,
  [gcd.name]: gcd,
  [linearEquation.name]: linearEquation,
});

export const FAMILY_NAMES: readonly string[] = Object.keys(FAMILIES);

export function getFamily(name: string): TaskFamily {
  const f = FAMILIES[name];
  if (!f) throw new Error(`unknown task family "${name}" (known: ${FAMILY_NAMES.join(', ')})`);
  return f;
}
