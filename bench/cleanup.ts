/** What a bench run must undo (cluster processes, clients, temp dirs), undone also on errors and on Ctrl-C. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Cleanup actions run in reverse order on normal exit, errors and signals. */
export class Cleanup {
  private readonly actions: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private running: Promise<void> | undefined;

  push(name: string, run: () => Promise<void> | void): void {
    this.actions.push({ name, run });
  }

  /** Runs one registered action now (and forgets it). */
  async runOne(name: string): Promise<void> {
    const i = this.actions.findIndex((a) => a.name === name);
    if (i < 0) return;
    const [action] = this.actions.splice(i, 1);
    await action!.run();
  }

  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.actions.length > 0) {
        const action = this.actions.pop()!;
        try {
          await action.run();
        } catch (err) {
          process.stderr.write(`cleanup of ${action.name} failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }
}

export function tempDir(cleanup: Cleanup, label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `copbench-bench-${label}-`));
  cleanup.push(`dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
