// The reconciler's chain of checks at its seams: an in-memory Kubernetes (status writes, events, Secrets) and the
// in-memory ECS. The same paths run against the real kube-apiserver and the emulator in test/integration.

import { expect } from 'chai';
import sinon from 'sinon';
import type { SecurityGroupRestore, SecurityGroupRestoreSpec, SecurityGroupRestoreStatus } from '../../../src/api/types.ts';
import { CloudError } from '../../../src/cloud/errors.ts';
import type { EventInput, SecretRead } from '../../../src/controller/kube.ts';
import { Reconciler, TransientReconcileError } from '../../../src/controller/reconcile.ts';
import type { ReconcilerDeps } from '../../../src/controller/reconcile.ts';
import type { Rule } from '../../../src/rules/rule.ts';
import { MemoryEcs } from '../support/memory-ecs.ts';

const rule = (port: number, extra: Partial<Rule> = {}): Rule => ({
  direction: 'ingress', protocol: 'TCP', portRange: `${port}/${port}`, peer: { kind: 'ipv4', cidr: '10.0.0.0/8' }, policy: 'accept', priority: 1, nicType: 'intranet', ...extra,
});

class FakeKube {
  readonly objects = new Map<string, SecurityGroupRestore>();
  readonly messages: string[] = [];
  readonly events: EventInput[] = [];
  readonly secrets = new Map<string, Record<string, string>>();
  statusWrites = 0;

  put(name: string, spec: Partial<SecurityGroupRestoreSpec>): void {
    this.objects.set(`ns/${name}`, {
      metadata: { namespace: 'ns', name, generation: 1, resourceVersion: '1', creationTimestamp: new Date(0) },
      spec: { regionId: 'cn-hangzhou', originalSecurityGroupId: 'sg-o', targetSecurityGroupId: 'sg-t', credentialsSecretRef: { name: 'creds' }, ...spec },
    });
  }

  async getRestore(namespace: string, name: string): Promise<SecurityGroupRestore | undefined> {
    const o = this.objects.get(`${namespace}/${name}`);
    return o && structuredClone(o);
  }

  async patchStatus(restore: SecurityGroupRestore, status: SecurityGroupRestoreStatus): Promise<SecurityGroupRestore> {
    const key = `${restore.metadata.namespace}/${restore.metadata.name}`;
    const stored = this.objects.get(key);
    if (!stored) throw new Error('gone');
    if (stored.metadata.resourceVersion !== restore.metadata.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    stored.status = structuredClone(status);
    this.messages.push(status.message ?? '');
    stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1);
    this.statusWrites++;
    return structuredClone(stored);
  }

  async readSecret(namespace: string, name: string): Promise<SecretRead> {
    const data = this.secrets.get(`${namespace}/${name}`);
    return data ? { kind: 'found', data } : { kind: 'notFound' };
  }

  async recordEvent(_restore: SecurityGroupRestore, event: EventInput): Promise<void> {
    this.events.push(event);
  }

  status(name: string): SecurityGroupRestoreStatus {
    return this.objects.get(`ns/${name}`)?.status ?? {};
  }
}

function setup(original: Rule[], target: Rule[]) {
  const kube = new FakeKube();
  kube.secrets.set('ns/creds', { accessKeyId: 'ak', accessKeySecret: 'sk' });
  const ecs = new MemoryEcs({ identityIncludesPriority: false });
  ecs.seed('sg-o', original);
  ecs.seed('sg-t', target);
  const deps: ReconcilerDeps = {
    kube,
    gatewayFor: () => ecs,
    defaultCredentialsAllowed: () => false,
    findConflict: () => undefined,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => new Date('2026-12-04T12:00:00Z'),
    sleep: async () => undefined,
  };
  return { kube, ecs, deps, reconciler: new Reconciler(deps) };
}

const ready = (s: SecurityGroupRestoreStatus) => s.conditions?.find((c) => c.type === 'Ready');
const has = (s: SecurityGroupRestoreStatus, type: string) => s.conditions?.some((c) => c.type === type) ?? false;

describe('Reconciler', () => {
  it('applies a Complete restore, reports the counts, and requeues after the resync interval', async () => {
    const { kube, ecs, reconciler } = setup([rule(22, { priority: 5 }), rule(3306)], [rule(22), rule(443)]);
    kube.put('r', { mode: 'Complete', resyncInterval: '2m' });
    const result = await reconciler.reconcile('ns/r');
    expect(result).to.deep.equal({ requeueAfterMs: 120_000 });
    const status = kube.status('r');
    expect(status).to.deep.include({ phase: 'Completed', observedGeneration: 1 });
    expect(status.applied).to.include({ added: 1, updated: 1, removed: 1, generation: 1 });
    expect(ready(status)).to.include({ status: 'True', reason: 'Restored' });
    expect(has(status, 'Stalled') || has(status, 'Reconciling')).to.equal(false);
    expect(ecs.rules('sg-o').map((r) => r.portRange).sort()).to.deep.equal(['22/22', '443/443']);
    expect(kube.events.map((e) => e.reason)).to.deep.equal(['Planned', 'Applied']);
  });

  it('makes no cloud change and writes no status on a second reconcile of a completed restore', async () => {
    const { kube, ecs, reconciler } = setup([], [rule(443)]);
    kube.put('r', {});
    await reconciler.reconcile('ns/r');
    const writes = kube.statusWrites;
    const history = ecs.history.length;
    await reconciler.reconcile('ns/r');
    expect(ecs.history.length).to.equal(history);
    expect(kube.statusWrites).to.equal(writes);
    expect(kube.events.filter((e) => e.reason === 'Applied')).to.have.length(1);
  });

  it('waits for approval of a Manual restore without touching the original', async () => {
    const { kube, ecs, reconciler } = setup([], [rule(443)]);
    kube.put('r', { approval: 'Manual' });
    await reconciler.reconcile('ns/r');
    const status = kube.status('r');
    expect(status.phase).to.equal('AwaitingApproval');
    expect(ready(status)).to.include({ status: 'False', reason: 'AwaitingApproval' });
    expect(has(status, 'Stalled')).to.equal(false);
    expect(ecs.history).to.have.length(0);
    // Approving the previewed hash (a spec change: new generation) applies it.
    const stored = kube.objects.get('ns/r') as SecurityGroupRestore;
    stored.spec.approvedPlanHash = status.preview?.planHash ?? '';
    stored.metadata.generation = 2;
    await reconciler.reconcile('ns/r');
    expect(kube.status('r').phase).to.equal('Completed');
    expect(ecs.rules('sg-o')).to.have.length(1);
  });

  it('refuses a Complete plan that removes more than maxRemovals, and a Complete restore from an empty target', async () => {
    const first = setup([rule(1), rule(2), rule(3)], [rule(4)]);
    first.kube.put('r', { mode: 'Complete', maxRemovals: 2 });
    await first.reconciler.reconcile('ns/r');
    expect(first.kube.status('r').conditions?.find((c) => c.type === 'Stalled')).to.include({ status: 'True', reason: 'TooManyRemovals' });
    expect(first.ecs.history).to.have.length(0);

    const second = setup([rule(1), rule(2)], []);
    second.kube.put('r', { mode: 'Complete' });
    await second.reconciler.reconcile('ns/r');
    expect(second.kube.status('r').message).to.match(/target group sg-t has no user rules: a Complete restore would remove all 2 rules of sg-o; set spec.maxRemovals/);
    expect(second.ecs.history).to.have.length(0);
  });

  it('keeps Reconciling with the cloud error in the message when ECS fails transiently, and throws for backoff', async () => {
    const { kube, ecs, reconciler } = setup([], [rule(443)]);
    kube.put('r', {});
    sinon.stub(ecs, 'describeGroups').rejects(new CloudError({ action: 'DescribeSecurityGroups', code: 'ServiceUnavailable', statusCode: 503, requestId: 'REQ-1', kind: 'transient', message: 'busy' }));
    let thrown: unknown;
    try {
      await reconciler.reconcile('ns/r');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(TransientReconcileError);
    const status = kube.status('r');
    expect(status.conditions?.find((c) => c.type === 'Reconciling')).to.include({ status: 'True', reason: 'RetryingAfterCloudError' });
    expect(status.message).to.match(/ServiceUnavailable \(HTTP 503, RequestId REQ-1\)/);
    expect(has(status, 'Stalled')).to.equal(false);
  });

  it('shows drift after a completed Once restore without re-applying it', async () => {
    const { kube, ecs, reconciler } = setup([], [rule(443)]);
    kube.put('r', {});
    await reconciler.reconcile('ns/r');
    ecs.seed('sg-o', []); // someone removed the restored rule
    const history = ecs.history.length;
    await reconciler.reconcile('ns/r');
    const status = kube.status('r');
    expect(status.phase).to.equal('Completed');
    expect(ready(status)).to.include({ status: 'True', reason: 'DriftDetected' });
    expect(status.preview?.toAdd).to.equal(1);
    expect(ecs.history.length).to.equal(history);
  });

  it('stalls on a missing Secret, and when the namespace may not use the operator\'s own credentials', async () => {
    const { kube, reconciler } = setup([], [rule(443)]);
    kube.put('a', { credentialsSecretRef: { name: 'nope' } });
    const result = await reconciler.reconcile('ns/a');
    expect(kube.status('a').conditions?.find((c) => c.type === 'Stalled')?.reason).to.equal('CredentialsNotFound');
    expect(result.requeueAfterMs).to.be.greaterThan(0);
    kube.put('b', {});
    delete (kube.objects.get('ns/b') as SecurityGroupRestore).spec.credentialsSecretRef;
    await reconciler.reconcile('ns/b');
    expect(kube.status('b').message).to.match(/spec.credentialsSecretRef is required in namespace ns/);
  });

  it('reports progress of a long apply in status.message', async () => {
    const target = Array.from({ length: 250 }, (_, i) => rule(1000 + i));
    const { kube, deps } = setup([], target);
    kube.put('r', {});
    await new Reconciler({ ...deps, progressIntervalMs: 0 }).reconcile('ns/r');
    expect(kube.messages.filter((m) => /in progress: add \d+\/250$/.test(m))).to.deep.equal([
      `applying plan ${kube.status('r').preview?.planHash ?? ''}: 250 to add, 0 to update, 0 to remove, 0 unchanged, 0 system rule(s) skipped; in progress: add 100/250`,
      `applying plan ${kube.status('r').preview?.planHash ?? ''}: 250 to add, 0 to update, 0 to remove, 0 unchanged, 0 system rule(s) skipped; in progress: add 200/250`,
    ]);
    expect(kube.status('r').phase).to.equal('Completed');
  });
});
