/**
 * Bundled sample datasets: `tabler` (MIT, the default) and `streamline` (CC-BY-4.0).
 */
export {
  renderTablerSample,
  tablerCategories,
  tablerGroupKey,
  tablerPackageDir,
  prepareTablerSvg,
  TABLER_GROUP_PATTERN,
} from './tabler.ts';
export type { TablerCategory } from './tabler.ts';
export { safeClassName, svgToPng } from './render.ts';
export type { SampleOptions, SampleResult } from './render.ts';
export { renderStreamlineSample, streamlineCategories, iconifySvg, STREAMLINE_LICENSE } from './streamline.ts';
export type { StreamlineCategory } from './streamline.ts';
