/**
 * Per-region data versions on a node: a counter bumped by every write to a region, so plugin state
 * built from a region's rows (PluginState) is keyed by the rows it was built from. The version is
 * bumped when a write arrives and again when it is durable, before it is acknowledged: a call that
 * starts after a write's acknowledgement sees a version no state was built under yet, so it
 * rebuilds from rows that include the write. (A call running while a write is in flight may see
 * either, as any read concurrent with a write does.) Counters start at 0 per node process; the
 * state they key lives only as long as the process does.
 */
export class RegionDataVersions {
  private readonly versions = new Map<number, number>();

  of(regionId: number): number {
    return this.versions.get(regionId) ?? 0;
  }

  bump(regionId: number): void {
    this.versions.set(regionId, this.of(regionId) + 1);
  }
}
