/**
 * The `copbench` backend kind (the default): copbench's own engine, embedded or attached with
 * `--placement`. Every plugin runs pushed down as well as client-side, and `adaptive` has its
 * cost model.
 */
import type { BackendKind } from '../backend';
import { CopbenchBackend } from './backend';

export const copbenchKind: BackendKind = {
  name: 'copbench',
  description: "copbench's own engine: placement + storage nodes (cluster.* sets them up); any plugin in both modes",
  options: {},
  provides: { adaptive: true, placement: true, pluginsFromCluster: true },
  checkSpec() {},
  checkAvailable() {},
  open: (spec, options) => CopbenchBackend.open(spec, { cluster: options.attach, log: options.log, network: options.network }),
};
