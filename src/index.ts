/**
 * augment as a library: everything the CLI does, importable.
 * (The package ships this compiled to JavaScript with type declarations, dist/index.js: plain
 * `import { buildVariant } from 'augment'` from JavaScript or TypeScript, no loader needed.)
 */
export { AugmentError, isAugmentError, type ErrorCode } from './errors.ts';
export { createRng, deriveSeed, rngFor, type Rng } from './rng.ts';

// recipes, scanning, splitting
export { loadRecipe, parseRecipe, findRecipe, listRecipes, SHIPPED_RECIPES_DIR, type Recipe } from './recipe/load.ts';
export { recipeSchema } from './recipe/schema.ts';
export { scanSource, type ScanResult, type SourceFile } from './dataset/scan.ts';
export { splitFiles, resolveSplit, type SplitRecord } from './dataset/split.ts';
export { auditDataset, formatAudit, AUDIT_FINDINGS_EXIT_CODE, type AuditReport, type AuditOptions } from './dataset/audit.ts';

// building
export { planBuild, type Plan, type SourceJob } from './variant/plan.ts';
export { buildVariant, defaultVariantDir, type BuildOptions, type BuildResult } from './variant/build.ts';
export {
  IMAGE_EXTENSIONS,
  MANIFEST_NAME,
  SPLITS,
  VARIANT_FILE,
  VARIANT_FORMAT_VERSION,
  isImageName,
  isVariantDir,
  readVariantInfo,
  type SplitName,
  type VariantInfo,
} from './variant/format.ts';
export { readManifest, type ManifestEntry } from './variant/manifest.ts';
// clusters: shards of a build, the merge, exit codes
export { parseShardFlags, shardOf, shardLabel, SHARD_INDEX_VARIABLES, type Shard } from './cluster/shard.ts';
export { mergeShards, type MergeResult } from './cluster/merge.ts';
export { EXIT, RETRYABLE_ERROR_CODES, describeFailure } from './errors.ts';
export { summarizeBuild } from './variant/summary.ts';
export { previewRecipe, type PreviewOptions } from './preview/preview.ts';

// images and ops
export { decodeImage, probeImage } from './image/decode.ts';
export { encodeImage } from './image/encode.ts';
export type { RawImage, Rgb } from './image/raw.ts';
export { getOp, listOps } from './ops/registry.ts';
export { applyOps, sampleOps, describeOps, validateOpsSpec, type OpsSpec } from './ops/compose.ts';
export type { OpDefinition, AppliedOp } from './ops/types.ts';

// sample data and stats
export { renderTablerSample, TABLER_GROUP_PATTERN } from './sample/index.ts';
export { countDataset, collectStats, discoverDatasets, formatStatsTable, renderStatsChart, statsJson } from './stats/index.ts';

// training and ranking
export { evaluate, mergeEvaluate, DEFAULT_EVALUATE_SETTINGS, type EvaluateOptions, type EvaluateResult, type EvaluateSettings, type MergeOptions } from './train/evaluate.ts';
export { createModel, listModels, registerModel } from './train/models/registry.ts';
export { macroF1, classificationMetrics, confusionMatrix } from './train/metrics.ts';

// the HTML report of a run
export { writeReport, type ReportOptions, type ReportResult } from './report/index.ts';
