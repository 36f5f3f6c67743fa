// The run configuration: schema (types, field docs and checks), presets (the defaults),
// validation and merging, one module each; this file re-exports them for `'../rl/config'`.
export type { Check, Field, ValueType } from './checks';
export * from './schema';
export * from './presets';
export * from './validate';
export * from './merge';
/** Moved to ../methods (the table of method traits); re-exported for existing callers. */
export { effectiveEpsHigh } from '../methods';
export * from './settings';
export * from './url-state';
