// Leader election on a coordination.k8s.io/v1 Lease, client-go style: acquire when the lease is free or expired,
// renew every retry period, give up leadership when a renewal has not succeeded within the renew deadline (the
// caller then stops and exits), and release on shutdown so a standby takes over at once. Every write carries the
// resourceVersion read, so two candidates can never both win.

import * as k8s from '@kubernetes/client-node';
import { statusCodeOf } from './kube.ts';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number; // 15 s
  readonly renewDeadlineMs?: number; // 10 s
  readonly retryPeriodMs?: number; // 2 s
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly log?: (message: string, meta?: Record<string, unknown>) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly options: Required<Omit<LeaderElectionOptions, 'log'>> & Pick<LeaderElectionOptions, 'log'>;
  private readonly abort = new AbortController();
  private leading = false;
  private loop: Promise<void> | undefined;

  constructor(kubeConfig: k8s.KubeConfig, options: LeaderElectionOptions) {
    this.api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.options = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Tries once to take or keep the lease. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new k8s.V1MicroTime(Date.now());
    const leaseSeconds = Math.round(this.options.leaseDurationMs / 1000);
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      await this.api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000 < Date.now();
    if (holder !== identity && holder !== '' && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.api.replaceNamespacedLease({
      namespace,
      name,
      body: {
        ...lease,
        spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: holder === identity ? spec.acquireTime ?? now : now, renewTime: now, leaseTransitions: transitions },
      },
    });
    return true;
  }

  private async run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    let lastRenew = 0;
    while (!this.abort.signal.aborted) {
      let ok = false;
      try {
        // A request hanging on a half-open connection must not keep us "leading" without renewing.
        ok = await Promise.race([
          this.tryAcquireOrRenew(),
          new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error('lease request timed out')), renewDeadlineMs / 2).unref()),
        ]);
      } catch (error) {
        // 409: someone else wrote first; anything else: the API server is unreachable. Both: try again.
        this.options.log?.('lease update failed', { code: statusCodeOf(error), error: String(error) });
      }
      if (this.abort.signal.aborted) break;
      if (ok) {
        lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.options.log?.('became leader', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
          this.options.onStartedLeading();
        }
      } else if (this.leading && Date.now() - lastRenew > renewDeadlineMs) {
        this.leading = false;
        this.options.log?.('lost leadership', { lease: `${this.options.namespace}/${this.options.name}` });
        this.options.onStoppedLeading();
        return;
      }
      await sleep(retryPeriodMs, this.abort.signal);
    }
  }

  /** Stops renewing and, if leading, releases the lease so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ namespace: this.options.namespace, name: this.options.name });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.api.replaceNamespacedLease({
        namespace: this.options.namespace,
        name: this.options.name,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new k8s.V1MicroTime(Date.now()) } },
      });
    } catch {
      // Best effort: the lease expires on its own.
    }
  }
}
