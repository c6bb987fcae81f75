/**
 * The deciders live in decide/, one file per kind of object; this module keeps the
 * names the engine and older tests import.
 */
export { decideCluster, diskLogicalId, placementProblem, type CleanupObservation, type DecideContext } from './decide/index.js';
