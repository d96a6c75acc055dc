// The operator end to end: a real kube-apiserver + etcd, the real kubectl, the operator as its own process under
// the ServiceAccount and RBAC of deploy/, and the ECS emulator behind the real SDK.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fileURLToPath } from 'node:url';
import { EcsEmulator } from '../emulator/server.ts';
import { userRuleContent } from '../emulator/compare.ts';
import type { SeedGroup, SeedRule, SeedState } from '../emulator/server.ts';
import { sharedControlPlane } from '../control-plane/fixture.ts';
import type { ControlPlane } from '../control-plane/controlplane.ts';
import type { SecurityGroupRestore } from '../../src/api/types.ts';
import { eventually, startOperator } from './support/operator.ts';
import type { OperatorProcess } from './support/operator.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGION = 'cn-hangzhou';
const OPERATOR_NS = 'sgrestore-system';
const OPERATOR_SA = 'sgrestore-controller';

const tcpIn = (port: number, extra: Record<string, string | number> = {}): SeedRule => ({
  direction: 'ingress', ipProtocol: 'TCP', portRange: `${port}/${port}`, sourceCidrIp: '10.0.0.0/8', policy: 'accept', priority: 1, ...extra,
});
const systemRule: SeedRule = { direction: 'ingress', ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '0.0.0.0/0', policy: 'accept', priority: 110 };

const content = userRuleContent;

describe('the SecurityGroupRestore operator on a real control plane', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let emulator: EcsEmulator;
  let operator: OperatorProcess;
  let operatorKubeconfig: string;
  const world: SeedState = { regions: { [REGION]: { securityGroups: [] }, 'cn-beijing': { securityGroups: [] } } };

  /** Adds groups to the emulator (the whole world is re-seeded; earlier tests are done with theirs). */
  function addGroups(groups: SeedGroup[], region = REGION): void {
    (world.regions[region]?.securityGroups as SeedGroup[]).push(...groups);
    emulator.seed(world);
  }

  const uid = () => randomBytes(3).toString('hex');

  async function kubectl(args: string[], input?: string): Promise<string> {
    const result = await cp.kubectl(args, input === undefined ? {} : { input });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  /** A namespace whose Secret the operator may read (RoleBinding to sgrestore-credentials-reader). */
  async function tenant(options: { grant?: boolean; secret?: string } = {}): Promise<string> {
    const ns = await cp.createNamespace('sgr');
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'ecs-credentials', '--from-literal=accessKeyId=test-ak', `--from-literal=accessKeySecret=${options.secret ?? 'test-secret'}`]);
    if (options.grant !== false) {
      await kubectl(['-n', ns, 'create', 'rolebinding', 'sgrestore-credentials', '--clusterrole=sgrestore-credentials-reader', `--serviceaccount=${OPERATOR_NS}:${OPERATOR_SA}`]);
    }
    return ns;
  }

  function manifest(ns: string, name: string, spec: Record<string, unknown>): string {
    return JSON.stringify({
      apiVersion: 'ecs.sgrestore.io/v1alpha1',
      kind: 'SecurityGroupRestore',
      metadata: { name, namespace: ns },
      spec: { regionId: REGION, credentialsSecretRef: { name: 'ecs-credentials' }, ...spec },
    });
  }

  async function get(ns: string, name: string): Promise<SecurityGroupRestore> {
    return JSON.parse(await kubectl(['-n', ns, 'get', 'sgrestore', name, '-o', 'json'])) as SecurityGroupRestore;
  }

  async function waitFor(ns: string, name: string, what: string, test: (r: SecurityGroupRestore) => boolean, timeoutMs = 60_000): Promise<SecurityGroupRestore> {
    return eventually(`${ns}/${name} ${what}`, async () => {
      const r = await get(ns, name);
      return test(r) ? r : undefined;
    }, timeoutMs);
  }

  const condition = (r: SecurityGroupRestore, type: string) => r.status?.conditions?.find((c) => c.type === type);
  const mutatingCallsOn = (groupId: string) => emulator.calls().filter((c) => c.mutating && c.params.SecurityGroupId === groupId);

  before(async () => {
    cp = await sharedControlPlane();
    await kubectl(['apply', '-f', `${ROOT}crds/`]);
    await kubectl(['wait', '--for=condition=Established', 'crd/securitygrouprestores.ecs.sgrestore.io', '--timeout=30s']);
    await kubectl(['apply', '-k', `${ROOT}deploy/`]);
    // Restores other suites left behind (with statuses they wrote by hand) would be Conflicts for ours.
    await kubectl(['delete', 'sgrestore', '--all', '--all-namespaces', '--wait=false']);
    operatorKubeconfig = await cp.serviceAccountKubeconfig(OPERATOR_NS, OPERATOR_SA);
    emulator = await EcsEmulator.start();
    emulator.seed(world);
    operator = startOperator({ kubeconfig: operatorKubeconfig, ecsEndpoint: emulator.url, args: ['--leader-elect', `--leader-election-namespace=${OPERATOR_NS}`] });
    await operator.waitForLog(/controller started/);
  });

  after(async () => {
    await operator?.stop();
    await emulator?.stop();
  });

  it('restores a Complete restore applied with kubectl: Ready, the columns show the counts, the original equals the target', async () => {
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    addGroups([
      { id: original, vpcId: 'vpc-1', rules: [tcpIn(22, { priority: 9, description: 'ssh' }), tcpIn(3306), tcpIn(80)] },
      { id: target, vpcId: 'vpc-1', rules: [tcpIn(22, { description: 'ssh from office' }), tcpIn(80), tcpIn(443), systemRule] },
    ]);
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'web', { originalSecurityGroupId: original, targetSecurityGroupId: target, mode: 'Complete' }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'sgrestore/web', '--timeout=60s']);
    const row = (await kubectl(['-n', ns, 'get', 'sgrestore', 'web', '--no-headers'])).trim().split(/\s+/);
    expect(row.slice(0, 8)).to.deep.equal(['web', original, target, 'Complete', 'Completed', '1', '1', '1']);
    const wide = await kubectl(['-n', ns, 'get', 'sgr', 'web', '-o', 'wide']);
    expect(wide).to.match(/REGION\s+READY\s+MESSAGE/);
    expect(wide, wide).to.match(/cn-hangzhou\s+True\s+restored from/);
    expect(content(emulator.rules(original))).to.deep.equal(content(emulator.rules(target)));
    const restore = await get(ns, 'web');
    expect(restore.status).to.deep.include({ phase: 'Completed', observedGeneration: restore.metadata.generation, skippedSystemRules: 1 });
    expect(restore.status?.applied).to.include({ added: 1, removed: 1, updated: 1 });
    const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].reason}']);
    expect(events.split(' ')).to.include.members(['Planned', 'Applied']);
  });

  it('reconciles examples/ applied with kubectl as each example says: Complete and Partial Ready, Manual awaiting approval', async () => {
    const seed = parseYaml(await readFile(`${ROOT}test/fixtures/examples.yaml`, 'utf8')) as SeedState;
    addGroups([...(seed.regions[REGION]?.securityGroups ?? [])]);
    await kubectl(['apply', '-f', `${ROOT}examples/`]);
    await kubectl(['-n', 'sgrestore-demo', 'wait', '--for=condition=Ready', 'sgrestore/web-prod', 'sgrestore/api-prod', '--timeout=60s']);
    await kubectl(['-n', 'sgrestore-demo', 'wait', '--for=jsonpath={.status.phase}=AwaitingApproval', 'sgrestore/db-prod', '--timeout=60s']);
    const rows = (await kubectl(['-n', 'sgrestore-demo', 'get', 'sgrestore', '--no-headers']))
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).slice(0, 8).join(' '));
    expect(rows).to.deep.equal([
      'api-prod sg-api-prod sg-api-backup Partial Completed 3 0 1',
      'db-prod sg-db-prod sg-db-backup Complete AwaitingApproval 1 2 1',
      'web-prod sg-web-prod sg-web-backup Complete Completed 1 2 1',
    ]);
    expect(content(emulator.rules('sg-web-prod'))).to.deep.equal(content(emulator.rules('sg-web-backup')).map((r) => r.replaceAll('sg-web-backup', 'sg-web-prod')).sort());
    expect(mutatingCallsOn('sg-db-prod')).to.have.length(0);
  });

  it('does not apply again on status-only or label changes, and a second reconcile makes no mutating call', async () => {
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    addGroups([{ id: original, vpcId: 'vpc-1', rules: [] }, { id: target, vpcId: 'vpc-1', rules: [tcpIn(443)] }]);
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'once', { originalSecurityGroupId: original, targetSecurityGroupId: target }));
    await waitFor(ns, 'once', 'Completed', (r) => r.status?.phase === 'Completed');
    const before = mutatingCallsOn(original).length;
    const describes = () => emulator.calls().filter((c) => c.action === 'DescribeSecurityGroupAttribute' && c.params.SecurityGroupId === original).length;
    // Our own status writes did not trigger a second plan: one describe of the original so far.
    expect(describes()).to.equal(1);
    await kubectl(['-n', ns, 'label', 'sgrestore', 'once', 'touched=yes']);
    await kubectl(['-n', ns, 'annotate', 'sgrestore', 'once', 'note=hello']);
    // A label change is reconciled (the operator re-plans) but there is nothing to change.
    await eventually('a describe after the label change', async () => (describes() > 1 ? true : undefined));
    expect(mutatingCallsOn(original).length).to.equal(before);
    expect((await get(ns, 'once')).status?.phase).to.equal('Completed');
  });

  it('waits for approval of a Manual restore, applies it after `sgrestore approve`, and a changed target voids an approval', async () => {
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    addGroups([{ id: original, vpcId: 'vpc-1', rules: [tcpIn(22)] }, { id: target, vpcId: 'vpc-1', rules: [tcpIn(22), tcpIn(443)] }]);
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'manual', { originalSecurityGroupId: original, targetSecurityGroupId: target, approval: 'Manual' }));
    const waiting = await waitFor(ns, 'manual', 'AwaitingApproval', (r) => r.status?.phase === 'AwaitingApproval');
    expect(waiting.status?.preview).to.deep.include({ toAdd: 1, toRemove: 0 });
    expect(waiting.status?.preview?.rules).to.deep.equal([{ action: 'add', rule: 'ingress accept TCP 443/443 from 10.0.0.0/8 priority 1' }]);
    expect(condition(waiting, 'Ready')).to.include({ status: 'False', reason: 'AwaitingApproval' });
    expect(condition(waiting, 'Stalled')).to.equal(undefined);
    expect(mutatingCallsOn(original)).to.have.length(0);

    // Someone edits the target after the preview: approving the old hash must not apply the new plan.
    const oldHash = waiting.status?.preview?.planHash ?? '';
    const seeded = world.regions[REGION]?.securityGroups?.find((g) => g.id === target) as SeedGroup;
    (seeded.rules as SeedRule[]).push(tcpIn(8443));
    emulator.seed(world);
    await kubectl(['-n', ns, 'patch', 'sgrestore', 'manual', '--type=merge', '-p', JSON.stringify({ spec: { approvedPlanHash: oldHash } })]);
    const voided = await waitFor(ns, 'manual', 'a new plan awaiting approval', (r) => r.status?.observedGeneration === r.metadata.generation && r.status?.preview?.planHash !== oldHash);
    expect(voided.status?.phase).to.equal('AwaitingApproval');
    expect(voided.status?.message).to.match(new RegExp(`the approved plan ${oldHash} is out of date`));
    expect(mutatingCallsOn(original)).to.have.length(0);

    // Approve what is shown now, as a person would: `kubectl sgrestore approve` (kubectl finds the plugin on PATH).
    const pluginDir = await mkdtemp(join(tmpdir(), 'sgrestore-plugin-'));
    await writeFile(join(pluginDir, 'kubectl-sgrestore'), `#!/bin/sh\nexec "${process.execPath}" "${ROOT}src/cli/entry.ts" "$@"\n`, { mode: 0o755 });
    const approved = spawnSync(cp.state.binaries.kubectl, ['sgrestore', 'approve', 'manual', '-n', ns], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath, PATH: `${pluginDir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    await rm(pluginDir, { recursive: true, force: true });
    expect(approved.status, approved.stderr).to.equal(0);
    expect(approved.stdout).to.match(/approved plan [0-9a-f]{16} for .*: 2 to add/);
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'sgrestore/manual', '--timeout=60s']);
    expect(emulator.rules(original).map((r) => r.PortRange).sort()).to.deep.equal(['22/22', '443/443', '8443/8443']);
  });

  describe('stalls with a clear reason, and makes no mutating call, when', () => {
    const cases: { name: string; reason: RegExp; message: RegExp; setup: (id: string) => Promise<{ ns: string; spec: Record<string, unknown> }> }[] = [
      {
        name: 'the target is in another region',
        reason: /TargetGroupNotFound/,
        message: /target security group sg-t\w+ not found in region cn-hangzhou; the original and target groups must be in the same region/,
        setup: async (id) => {
          addGroups([{ id: `sg-o${id}`, vpcId: 'vpc-1', rules: [tcpIn(1)] }]);
          addGroups([{ id: `sg-t${id}`, vpcId: 'vpc-1', rules: [tcpIn(2)] }], 'cn-beijing');
          return { ns: await tenant(), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}` } };
        },
      },
      {
        name: 'the groups are of different network types',
        reason: /NetworkTypeMismatch/,
        message: /is in a VPC \(vpc-1\) but target group sg-t\w+ is in a classic network/,
        setup: async (id) => {
          addGroups([{ id: `sg-o${id}`, vpcId: 'vpc-1', rules: [] }, { id: `sg-t${id}`, rules: [tcpIn(2)] }]);
          return { ns: await tenant(), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}` } };
        },
      },
      {
        name: 'the original group does not exist',
        reason: /OriginalGroupNotFound/,
        message: /original security group sg-o\w+ not found in region cn-hangzhou/,
        setup: async (id) => {
          addGroups([{ id: `sg-t${id}`, vpcId: 'vpc-1', rules: [tcpIn(2)] }]);
          return { ns: await tenant(), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}` } };
        },
      },
      {
        name: 'the credentials Secret is missing',
        reason: /CredentialsNotFound/,
        message: /Secret sgr-\w+\/missing \(spec.credentialsSecretRef\) not found/,
        setup: async (id) => {
          addGroups([{ id: `sg-o${id}`, vpcId: 'vpc-1', rules: [] }, { id: `sg-t${id}`, vpcId: 'vpc-1', rules: [tcpIn(2)] }]);
          return { ns: await tenant(), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}`, credentialsSecretRef: { name: 'missing' } } };
        },
      },
      {
        name: 'the Secret holds a wrong key secret',
        reason: /AuthenticationFailed/,
        message: /SignatureDoesNotMatch \(HTTP 400, RequestId [0-9A-F-]+\)/,
        setup: async (id) => {
          addGroups([{ id: `sg-o${id}`, vpcId: 'vpc-1', rules: [] }, { id: `sg-t${id}`, vpcId: 'vpc-1', rules: [tcpIn(2)] }]);
          return { ns: await tenant({ secret: 'wrong-secret' }), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}` } };
        },
      },
      {
        name: 'the operator was not granted the Secret (RBAC of deploy/)',
        reason: /CredentialsForbidden/,
        message: /the operator may not read Secret sgr-\w+\/ecs-credentials; grant it with a RoleBinding/,
        setup: async (id) => {
          addGroups([{ id: `sg-o${id}`, vpcId: 'vpc-1', rules: [] }, { id: `sg-t${id}`, vpcId: 'vpc-1', rules: [tcpIn(2)] }]);
          return { ns: await tenant({ grant: false }), spec: { originalSecurityGroupId: `sg-o${id}`, targetSecurityGroupId: `sg-t${id}` } };
        },
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const id = uid();
        const { ns, spec } = await c.setup(id);
        await kubectl(['apply', '-f', '-'], manifest(ns, 'r', spec));
        const r = await waitFor(ns, 'r', 'Stalled', (x) => condition(x, 'Stalled')?.status === 'True');
        expect(condition(r, 'Stalled')?.reason).to.match(c.reason);
        expect(r.status?.message).to.match(c.message);
        expect(r.status?.phase).to.equal('Failed');
        expect(condition(r, 'Ready')?.status).to.equal('False');
        expect(emulator.calls().filter((call) => call.mutating && call.params.SecurityGroupId === `sg-o${id}`)).to.have.length(0);
        expect(operator.child.exitCode).to.equal(null);
        expect(operator.logs.join('\n')).to.not.match(/wrong-secret|test-secret/);
        // kubectl wait for Ready would fail fast in kstatus tools: Stalled=True is "Failed".
        expect(r.status?.observedGeneration).to.equal(r.metadata.generation);
      });
    }
  });

  it('lets only the first of two restores onto one original proceed; the second is Stalled with Conflict naming the first', async () => {
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    addGroups([{ id: original, vpcId: 'vpc-1', rules: [] }, { id: target, vpcId: 'vpc-1', rules: [tcpIn(443)] }]);
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'first', { originalSecurityGroupId: original, targetSecurityGroupId: target, approval: 'Manual' }));
    await waitFor(ns, 'first', 'AwaitingApproval', (r) => r.status?.phase === 'AwaitingApproval');
    await kubectl(['apply', '-f', '-'], manifest(ns, 'second', { originalSecurityGroupId: original, targetSecurityGroupId: target }));
    const second = await waitFor(ns, 'second', 'Stalled', (r) => condition(r, 'Stalled')?.status === 'True');
    expect(condition(second, 'Stalled')?.reason).to.equal('Conflict');
    expect(second.status?.message).to.include(`SecurityGroupRestore ${ns}/first already restores onto ${original}`);
    // Deleting the first lets the second proceed.
    await kubectl(['-n', ns, 'delete', 'sgrestore', 'first']);
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'sgrestore/second', '--timeout=60s']);
  });

  it('converges with no rule lost when the operator is SIGKILLed mid-apply and restarted', async () => {
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    const shared = Array.from({ length: 30 }, (_, i) => tcpIn(5000 + i));
    addGroups([
      { id: original, vpcId: 'vpc-1', rules: [...shared, ...Array.from({ length: 150 }, (_, i) => tcpIn(7000 + i))] },
      { id: target, vpcId: 'vpc-1', rules: [...shared, ...Array.from({ length: 350 }, (_, i) => tcpIn(1000 + i))] },
    ]);
    emulator.setFaults({ latencyMs: 300 });
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'crash', { originalSecurityGroupId: original, targetSecurityGroupId: target, mode: 'Complete', maxRemovals: 200 }));
    await eventually('the first applied authorize', async () => (mutatingCallsOn(original).some((c) => c.applied) ? true : undefined));
    expect(await operator.stop('SIGKILL')).to.equal('SIGKILL');
    emulator.setFaults({});
    operator = startOperator({ kubeconfig: operatorKubeconfig, ecsEndpoint: emulator.url, args: ['--leader-elect', `--leader-election-namespace=${OPERATOR_NS}`] });
    await operator.waitForLog(/controller started/);
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'sgrestore/crash', '--timeout=120s']);
    expect(content(emulator.rules(original))).to.deep.equal(content(emulator.rules(target)));
    // No rule present in both groups was ever absent from the original, after any single call.
    const keptPorts = shared.map((r) => r.portRange);
    for (const call of mutatingCallsOn(original)) {
      const ports = new Set((call.rulesAfter?.[original] ?? []).map((r) => r.PortRange));
      if (!call.rulesAfter) continue;
      for (const port of keptPorts) expect(ports.has(String(port)), `${String(port)} absent after ${call.action} #${call.seq}`).to.equal(true);
    }
  });

  it('recovers from a kube-apiserver restart and handles a new restore within 30 s', async () => {
    await cp.restartApiserver();
    const id = uid();
    const [original, target] = [`sg-o${id}`, `sg-t${id}`];
    addGroups([{ id: original, vpcId: 'vpc-1', rules: [] }, { id: target, vpcId: 'vpc-1', rules: [tcpIn(443)] }]);
    const ns = await tenant();
    await kubectl(['apply', '-f', '-'], manifest(ns, 'after-restart', { originalSecurityGroupId: original, targetSecurityGroupId: target }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'sgrestore/after-restart', '--timeout=30s']);
    expect(operator.child.exitCode).to.equal(null);
    expect(emulator.rules(original).map((r) => r.PortRange)).to.deep.equal(['443/443']);
  });

  it('serves /healthz, /readyz and controller-runtime metrics with ECS calls by action', async () => {
    const port = await operator.healthPort();
    const fetchText = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, text: await response.text() };
    };
    expect(await fetchText('/healthz')).to.deep.equal({ status: 200, text: 'ok' });
    expect(await fetchText('/readyz')).to.deep.equal({ status: 200, text: 'ok' });
    const metrics = (await fetchText('/metrics')).text;
    expect(metrics).to.match(/^controller_runtime_reconcile_total\{controller="securitygrouprestore",result="requeue_after"\} [1-9]/m);
    expect(metrics).to.match(/^workqueue_adds_total\{name="securitygrouprestore"\} [1-9]/m);
    expect(metrics).to.match(/^sgrestore_ecs_calls_total\{action="DescribeSecurityGroupAttribute",code="ok"\} [1-9]/m);
    expect(metrics).to.match(/^sgrestore_ecs_calls_total\{action="AuthorizeSecurityGroup",code="ok"\} [1-9]/m);
    expect(metrics).to.match(/^leader_election_master_status\{name="sgrestore-controller"\} 1/m);
  });

  it('keeps a second replica on standby until the leader stops, then hands over through the Lease', async () => {
    const standby = startOperator({ kubeconfig: operatorKubeconfig, ecsEndpoint: emulator.url, args: ['--leader-elect', `--leader-election-namespace=${OPERATOR_NS}`] });
    try {
      await standby.waitForLog(/probes listening/);
      // While the leader renews, the standby never starts its controller.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(standby.logs.some((l) => /controller started/.test(l))).to.equal(false);
      expect(await operator.stop('SIGTERM')).to.equal(0);
      await standby.waitForLog(/controller started/, 30_000);
      const lease = JSON.parse(await kubectl(['-n', OPERATOR_NS, 'get', 'lease', 'sgrestore-controller', '-o', 'json'])) as { spec: { holderIdentity: string } };
      expect(lease.spec.holderIdentity).to.match(new RegExp(`_${standby.child.pid}$`));
    } finally {
      operator = standby;
    }
  });
});
