/** The ops layer: registry, recipe `ops:` compositions, and the warp behind the geometric ops. */
export { getOp, hasOp, listOps } from './registry.ts';
export {
  applyOps, describeOps, fixedCount, formatPath, opsSpecSchema, sampleOps, validateOpsSpec,
  type FixedSpec, type OneOfNode, type OpNode, type OpsNode, type OpsSpec, type SequenceNode, type SomeOfNode,
} from './compose.ts';
export type { AugmentOp } from './define.ts';
export type { AppliedOp, ApplyContext, OpDefinition, Params } from './types.ts';
export { homography, warp, type Interpolation, type Mat3 } from './warp.ts';
