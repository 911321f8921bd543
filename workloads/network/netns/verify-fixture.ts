/**
 * Used by netns.test.ts inside a run's client namespace: verifies the profiles given as arguments
 * and prints each check; exits 0 when all pass, 3 when the network refused a profile, 1 otherwise.
 */
import { NetworkError } from '../network';
import { formatCheck } from '../verify';
import { netnsKind } from '.';

async function main(): Promise<number> {
  const network = netnsKind.open();
  try {
    const checks = await network.verify(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`${checks.map(formatCheck).join('\n')}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${(err as Error).message}\n`);
    return err instanceof NetworkError ? 3 : 1;
  } finally {
    await network.close();
  }
}

void main().then((code) => process.exit(code));
