/**
 * YCSB's scrambled zipfian key chooser: item popularity follows a zipfian law (theta 0.99 by
 * default), and a hash spreads the popular items over the keyspace instead of bunching them at
 * its start (Gray et al., "Quickly generating billion-record synthetic databases", as in YCSB).
 */
import { SeededRandom } from '../../engine/util/seeded-random';

export class ScrambledZipfian {
  private readonly zetan: number;
  private readonly alpha: number;
  private readonly eta: number;
  private readonly theta: number;

  constructor(
    readonly items: number,
    theta = 0.99,
    private readonly random = new SeededRandom(1),
  ) {
    if (items < 1) throw new Error('zipfian needs at least one item');
    this.theta = theta;
    this.zetan = zeta(items, theta);
    const zeta2 = zeta(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / items, 1 - theta)) / (1 - zeta2 / this.zetan);
  }

  /** The next item in [0, items). */
  next(): number {
    return fnv1a32(this.rank()) % this.items;
  }

  /** The popularity rank drawn (0 = most popular), before scrambling. */
  rank(): number {
    const u = this.random.next();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < 1 + Math.pow(0.5, this.theta)) return Math.min(1, this.items - 1);
    return Math.min(this.items - 1, Math.floor(this.items * Math.pow(this.eta * u - this.eta + 1, this.alpha)));
  }
}

function zeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / Math.pow(i, theta);
  return sum;
}

/** FNV-1a over the 4 bytes of an integer. */
function fnv1a32(value: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < 4; i++) {
    hash ^= (value >>> (i * 8)) & 0xff;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
