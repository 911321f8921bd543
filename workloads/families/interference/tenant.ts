/** The harness's handle on the point tenant process (point-tenant.ts): start it, run phases, stop it. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DatasetSpec } from '../../spec';
import type { TenantMessage, TenantReply, TenantResult } from './point-tenant';

const REGISTER = path.resolve(__dirname, '..', '..', '..', 'engine', 'runtime', 'register.js');

export class PointTenant {
  private constructor(private readonly child: ChildProcess) {}

  /** Forks the tenant and waits until it is connected and holds the dataset's values. */
  static async start(options: { placement: string; dataset: DatasetSpec; zipfianTheta: number; readProportion: number }): Promise<PointTenant> {
    const child = fork(path.join(__dirname, 'point-tenant.ts'), [], { execArgv: ['--require', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const tenant = new PointTenant(child);
    try {
      await tenant.request({ type: 'init', ...options }, 'ready');
    } catch (err) {
      tenant.stop();
      throw err;
    }
    return tenant;
  }

  /** Sends a message and resolves with the first reply of the expected type. */
  private request<T extends TenantReply['type']>(message: TenantMessage, expect: T): Promise<Extract<TenantReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: TenantReply): void => {
        cleanup();
        if (reply.type === 'error') reject(new Error(`point tenant: ${reply.message}`));
        else if (reply.type !== expect) reject(new Error(`point tenant: expected ${expect}, got ${reply.type}`));
        else resolve(reply as Extract<TenantReply, { type: T }>);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup();
        reject(new Error(`point tenant exited (${signal ?? code})`));
      };
      const cleanup = (): void => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
      this.child.send(message);
    });
  }

  /** One open-loop phase of point operations. */
  phase(options: { opsPerSec: number; durationMs: number; maxInFlight: number; seed: number }): Promise<TenantResult> {
    return this.request({ type: 'phase', ...options }, 'result');
  }

  stop(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    this.child.disconnect?.();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}
