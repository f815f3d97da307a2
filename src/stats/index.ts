/** `augment stats` as a library: count, discover, format, chart. */
export * from './count.ts';
export * from './discover.ts';
export * from './table.ts';
export * from './chart.ts';
export * from './collect.ts';
