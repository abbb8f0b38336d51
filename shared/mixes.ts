/** The names of the load mixes (`--mix NAME`); their weights are in lab/load/mixes.ts. */
export const MIX_NAMES = ['default', 'users', 'light', 'orders', 'report', 'feed', 'health', 'all'] as const;
export type MixName = (typeof MIX_NAMES)[number];
