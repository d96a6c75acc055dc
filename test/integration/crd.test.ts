// The SecurityGroupRestore CRD (crds/) on a real kube-apiserver, driven the way a person drives it: `kubectl apply`
// of manifests, `kubectl get` of the printer columns. What is checked here is what the API server enforces before
// the operator sees anything: the schema, the CEL rules and their messages, defaults, the status subresource.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments, stringify as toYaml } from 'yaml';
import type { Preview, SecurityGroupRestore, SecurityGroupRestoreSpec, SecurityGroupRestoreStatus } from '../../src/api/types.ts';
import type { ControlPlane, KubectlResult } from '../control-plane/controlplane.ts';
import { sharedControlPlane } from '../control-plane/fixture.ts';

const CRD_FILE = fileURLToPath(new URL('../../crds/ecs.sgrestore.io_securitygrouprestores.yaml', import.meta.url));
const CRD_NAME = 'securitygrouprestores.ecs.sgrestore.io';
const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));
const EXAMPLE_RESTORES = ['complete.yaml', 'partial.yaml', 'manual-approval.yaml'];
const EXAMPLES_SEED = fileURLToPath(new URL('../fixtures/examples.yaml', import.meta.url));

const IMMUTABLE = (field: string) => `${field} is immutable; create a new SecurityGroupRestore`;
const MUST_DIFFER = 'originalSecurityGroupId and targetSecurityGroupId must differ: restore from a backup group';

type Manifest = Record<string, unknown> & { metadata: Record<string, unknown> };

function restore(name: string, spec: Partial<SecurityGroupRestoreSpec> & Record<string, unknown>): Manifest {
  return {
    apiVersion: 'ecs.sgrestore.io/v1alpha1',
    kind: 'SecurityGroupRestore',
    metadata: { name },
    spec: { regionId: 'cn-hangzhou', originalSecurityGroupId: 'sg-web-prod', targetSecurityGroupId: 'sg-web-backup', ...spec },
  };
}

/** Splits `kubectl get` table output into rows of cells (columns are separated by 2+ spaces). */
function table(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('the SecurityGroupRestore CRD on a real API server', function () {
  let cp: ControlPlane;

  const apply = (namespace: string, ...manifests: Manifest[]): Promise<KubectlResult> =>
    cp.kubectl(['apply', '-n', namespace, '-f', '-'], { input: manifests.map((m) => toYaml(m)).join('---\n') });

  const get = async (namespace: string, name: string): Promise<SecurityGroupRestore> => {
    const got = await cp.kubectl(['get', 'sgrestore', name, '-n', namespace, '-o', 'json']);
    expect(got.code, got.stderr).to.equal(0);
    return JSON.parse(got.stdout) as SecurityGroupRestore;
  };

  const expectApplied = (result: KubectlResult): void => {
    expect(result.code, `kubectl apply failed: ${result.stderr}`).to.equal(0);
  };

  /** kubectl apply failed with this message, and nothing named `name` was stored. */
  const expectRejected = async (result: KubectlResult, namespace: string, name: string, message: string): Promise<void> => {
    expect(result.code, `kubectl apply succeeded but should have been refused:\n${result.stdout}`).to.not.equal(0);
    expect(result.stderr).to.contain(message);
    const stored = await cp.kubectl(['get', 'sgrestore', name, '-n', namespace, '--ignore-not-found', '-o', 'name']);
    expect(stored.stdout.trim(), 'a refused object must not be stored').to.equal('');
  };

  before(async function () {
    // The first integration test of a run starts the shared control plane (minutes on a machine that has never
    // built its binaries).
    this.timeout(45 * 60_000);
    cp = await sharedControlPlane();
    const applied = await cp.kubectl(['apply', '-f', CRD_FILE]);
    expect(applied.code, applied.stderr).to.equal(0);
    const established = await cp.kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
    expect(established.code, established.stderr).to.equal(0);
  });

  describe('installation', function () {
    it('is Established and served under the short names sgrestore and sgr, with a status subresource', async function () {
      const got = await cp.kubectl(['get', 'crd', CRD_NAME, '-o', 'json']);
      expect(got.code, got.stderr).to.equal(0);
      const crd = JSON.parse(got.stdout) as {
        spec: { scope: string; names: { kind: string; plural: string; shortNames: string[] }; versions: { name: string; storage: boolean; subresources?: { status?: object } }[] };
        status: { conditions: { type: string; status: string }[] };
      };
      expect(crd.status.conditions.find((c) => c.type === 'Established')?.status).to.equal('True');
      expect(crd.spec.scope).to.equal('Namespaced');
      expect(crd.spec.names).to.include({ kind: 'SecurityGroupRestore', plural: 'securitygrouprestores' });
      expect(crd.spec.names.shortNames).to.deep.equal(['sgrestore', 'sgr']);
      expect(crd.spec.versions.map((v) => [v.name, v.storage, v.subresources?.status !== undefined])).to.deep.equal([['v1alpha1', true, true]]);

      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('by-short-name', {})));
      for (const shortName of ['sgrestore', 'sgr']) {
        const listed = await cp.kubectl(['get', shortName, '-n', namespace, '-o', 'name']);
        expect(listed.stdout.trim(), listed.stderr).to.equal('securitygrouprestore.ecs.sgrestore.io/by-short-name');
      }
    });
  });

  describe('examples/', function () {
    it('accepts every example manifest, moved into a fresh namespace, with the fields it was given', async function () {
      const namespace = await cp.createNamespace('crd');
      // The credentials Secret and its RoleBinding, minus the Namespace they create.
      const credentials = parseAllDocuments(await readFile(`${EXAMPLES_DIR}00-credentials-secret.yaml`, 'utf8'))
        .map((d) => d.toJS() as Manifest)
        .filter((m) => m.kind !== 'Namespace')
        .map((m): Manifest => ({ ...m, metadata: { ...m.metadata, namespace } }));
      expect(credentials.map((m) => m.kind)).to.deep.equal(['Secret', 'RoleBinding']);
      expectApplied(await apply(namespace, ...credentials));

      for (const file of EXAMPLE_RESTORES) {
        const manifest = parseYaml(await readFile(`${EXAMPLES_DIR}${file}`, 'utf8')) as Manifest & { spec: SecurityGroupRestoreSpec };
        expect(manifest.metadata.namespace, `${file} lives in the demo namespace`).to.equal('sgrestore-demo');
        // kubectl's default --validate=strict also refuses fields the schema does not know.
        expectApplied(await apply(namespace, { ...manifest, metadata: { ...manifest.metadata, namespace } }));
        const stored = await get(namespace, manifest.metadata.name as string);
        expect(stored.spec, file).to.deep.include(manifest.spec);
        expect(stored.spec.credentialsSecretRef, file).to.deep.equal({ name: 'ecs-credentials' });
      }
    });

    it('restores three different original groups, all seeded in test/fixtures/examples.yaml, so the examples never Conflict', async function () {
      const specs = await Promise.all(
        EXAMPLE_RESTORES.map(async (file) => (parseYaml(await readFile(`${EXAMPLES_DIR}${file}`, 'utf8')) as { spec: SecurityGroupRestoreSpec }).spec),
      );
      expect(new Set(specs.map((s) => s.originalSecurityGroupId)).size).to.equal(EXAMPLE_RESTORES.length);
      expect(specs.map((s) => s.mode)).to.deep.equal(['Complete', 'Partial', 'Complete']);
      expect(specs.map((s) => s.approval ?? 'Automatic')).to.deep.equal(['Automatic', 'Automatic', 'Manual']);

      const seed = parseYaml(await readFile(EXAMPLES_SEED, 'utf8')) as {
        credentials: { accessKeyId: string; accessKeySecret: string }[];
        regions: Record<string, { securityGroups: { id: string }[] }>;
      };
      for (const spec of specs) {
        const seeded = (seed.regions[spec.regionId]?.securityGroups ?? []).map((g) => g.id);
        expect(seeded, `${spec.regionId} in the seed`).to.include.members([spec.originalSecurityGroupId, spec.targetSecurityGroupId]);
      }
      const secret = parseAllDocuments(await readFile(`${EXAMPLES_DIR}00-credentials-secret.yaml`, 'utf8'))
        .map((d) => d.toJS() as Manifest & { stringData?: Record<string, string> })
        .find((m) => m.kind === 'Secret');
      expect(seed.credentials).to.deep.include({ accessKeyId: secret?.stringData?.accessKeyId, accessKeySecret: secret?.stringData?.accessKeySecret });
    });
  });

  describe('defaults', function () {
    it('fills in mode Partial, approval Automatic, syncPolicy Once, resyncInterval 10m and suspend false', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('minimal', {})));
      const stored = await get(namespace, 'minimal');
      expect(stored.spec).to.deep.equal({
        regionId: 'cn-hangzhou',
        originalSecurityGroupId: 'sg-web-prod',
        targetSecurityGroupId: 'sg-web-backup',
        mode: 'Partial',
        approval: 'Automatic',
        syncPolicy: 'Once',
        resyncInterval: '10m',
        suspend: false,
      });
    });

    it('keeps the values a manifest sets instead of the defaults', async function () {
      const namespace = await cp.createNamespace('crd');
      const spec = { mode: 'Complete', approval: 'Manual', syncPolicy: 'Continuous', resyncInterval: '1h30m', suspend: true, maxRemovals: 0 } as const;
      expectApplied(await apply(namespace, restore('explicit', spec)));
      expect((await get(namespace, 'explicit')).spec).to.deep.include(spec);
    });
  });

  describe('validation on create', function () {
    const invalid: { readonly what: string; readonly spec: Record<string, unknown>; readonly message: string }[] = [
      { what: 'a regionId that is not a region id', spec: { regionId: 'Hangzhou' }, message: `spec.regionId in body should match '^[a-z]{2,}(-[a-z0-9]+)+$'` },
      { what: 'an originalSecurityGroupId without the sg- prefix', spec: { originalSecurityGroupId: 'web-prod' }, message: `spec.originalSecurityGroupId in body should match '^sg-[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$'` },
      { what: 'a targetSecurityGroupId that is only the prefix', spec: { targetSecurityGroupId: 'sg-' }, message: `spec.targetSecurityGroupId in body should match '^sg-[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$'` },
      { what: 'the same group as original and target', spec: { targetSecurityGroupId: 'sg-web-prod' }, message: MUST_DIFFER },
      { what: 'an unknown mode', spec: { mode: 'Full' }, message: 'spec.mode: Unsupported value: "Full": supported values: "Complete", "Partial"' },
      { what: 'an approval in the wrong case', spec: { approval: 'manual' }, message: 'spec.approval: Unsupported value: "manual": supported values: "Automatic", "Manual"' },
      { what: 'an unknown syncPolicy', spec: { syncPolicy: 'Always' }, message: 'spec.syncPolicy: Unsupported value: "Always"' },
      { what: 'an approvedPlanHash that is not 16 hex digits', spec: { approvedPlanHash: 'B15C4239AE8D9A73' }, message: `spec.approvedPlanHash in body should match '^[0-9a-f]{16}$'` },
      { what: 'a resyncInterval shorter than 10s', spec: { resyncInterval: '5s' }, message: 'resyncInterval must be between 10s and 168h' },
      { what: 'a resyncInterval longer than a week', spec: { resyncInterval: '169h' }, message: 'resyncInterval must be between 10s and 168h' },
      { what: 'a resyncInterval that is not a duration', spec: { resyncInterval: '10 minutes' }, message: `spec.resyncInterval in body should match '^([0-9]+(ms|s|m|h))+$'` },
      { what: 'a negative maxRemovals', spec: { maxRemovals: -1 }, message: 'spec.maxRemovals in body should be greater than or equal to 0' },
      { what: 'a credentialsSecretRef without a name', spec: { credentialsSecretRef: {} }, message: 'spec.credentialsSecretRef.name: Required value' },
      { what: 'a credentialsSecretRef name that is not a Secret name', spec: { credentialsSecretRef: { name: 'ECS_Credentials' } }, message: 'spec.credentialsSecretRef.name in body should match' },
      { what: 'a misspelt field rather than dropping it', spec: { mdoe: 'Complete' }, message: 'unknown field "spec.mdoe"' },
    ];
    for (const { what, spec, message } of invalid) {
      it(`refuses ${what}, naming the problem`, async function () {
        const namespace = await cp.createNamespace('crd');
        await expectRejected(await apply(namespace, restore('invalid', spec)), namespace, 'invalid', message);
      });
    }

    it('refuses a restore without a targetSecurityGroupId', async function () {
      const namespace = await cp.createNamespace('crd');
      const manifest = restore('no-target', {});
      delete (manifest.spec as Record<string, unknown>).targetSecurityGroupId;
      await expectRejected(await apply(namespace, manifest), namespace, 'no-target', 'spec.targetSecurityGroupId: Required value');
    });

    it('reports a malformed resyncInterval by its pattern alone, without a CEL conversion error', async function () {
      const namespace = await cp.createNamespace('crd');
      const result = await apply(namespace, restore('malformed', { resyncInterval: '10 minutes' }));
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.not.contain('google.protobuf.Duration');
      expect(result.stderr).to.not.contain('must be between');
    });
  });

  describe('immutability on update', function () {
    for (const [field, changed] of [
      ['regionId', 'cn-shanghai'],
      ['originalSecurityGroupId', 'sg-api-prod'],
      ['targetSecurityGroupId', 'sg-web-backup-2'],
    ] as const) {
      it(`refuses to change ${field} after creation and keeps the stored value`, async function () {
        const namespace = await cp.createNamespace('crd');
        expectApplied(await apply(namespace, restore('fixed', {})));
        const before = await get(namespace, 'fixed');

        const result = await apply(namespace, restore('fixed', { [field]: changed }));
        expect(result.code, 'the change should have been refused').to.not.equal(0);
        expect(result.stderr).to.contain(`spec.${field}`);
        expect(result.stderr).to.contain(IMMUTABLE(field));
        expect((await get(namespace, 'fixed')).spec[field]).to.equal(before.spec[field]);
      });
    }

    it('lets mode, approval, approvedPlanHash, syncPolicy, resyncInterval, maxRemovals and suspend change', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('tunable', {})));
      const changes = { mode: 'Complete', approval: 'Manual', approvedPlanHash: 'b15c4239ae8d9a73', syncPolicy: 'Continuous', resyncInterval: '30m', maxRemovals: 3, suspend: true } as const;
      expectApplied(await apply(namespace, restore('tunable', changes)));
      expect((await get(namespace, 'tunable')).spec).to.deep.include(changes);
    });
  });

  describe('status', function () {
    const preview: Preview = {
      planHash: '24ce29f0684d753e',
      toAdd: 1,
      toRemove: 2,
      toUpdate: 0,
      unchanged: 2,
      skippedSystemRules: 1,
      rules: [
        { action: 'add', rule: 'ingress accept TCP 5432/5432 from 10.0.3.0/24 priority 1 "replication from the standby"' },
        { action: 'remove', rule: 'ingress accept TCP 5432/5432 from 10.0.0.0/16 priority 1 "incident 4711"' },
        { action: 'skip', rule: 'ingress accept ICMP -1/-1 from 0.0.0.0/0 priority 110 "System created rule."' },
      ],
    };
    const status: SecurityGroupRestoreStatus = {
      observedGeneration: 1,
      phase: 'AwaitingApproval',
      conditions: [
        { type: 'Ready', status: 'False', observedGeneration: 1, lastTransitionTime: '2026-12-01T10:00:00Z', reason: 'AwaitingApproval', message: 'awaiting approval of plan 24ce29f0684d753e' },
      ],
      preview,
      skippedSystemRules: 1,
      lastPlanTime: '2026-12-01T10:00:00Z',
      message: 'awaiting approval of plan 24ce29f0684d753e: 1 to add, 2 to remove',
    };

    const patchStatus = (namespace: string, name: string, body: unknown): Promise<KubectlResult> =>
      cp.kubectl(['patch', 'sgrestore', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify(body)]);

    it('shows ORIGINAL, TARGET, MODE, PHASE, ADD, REMOVE, SKIPPED and AGE in kubectl get, from spec and status', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('db-prod', { originalSecurityGroupId: 'sg-db-prod', targetSecurityGroupId: 'sg-db-backup', mode: 'Complete', approval: 'Manual' })));
      const patched = await patchStatus(namespace, 'db-prod', { status });
      expect(patched.code, patched.stderr).to.equal(0);

      const plain = await cp.kubectl(['get', 'sgrestore', '-n', namespace]);
      expect(plain.code, plain.stderr).to.equal(0);
      const [header, row] = table(plain.stdout);
      expect(header).to.deep.equal(['NAME', 'ORIGINAL', 'TARGET', 'MODE', 'PHASE', 'ADD', 'REMOVE', 'SKIPPED', 'AGE']);
      expect(row?.slice(0, 8)).to.deep.equal(['db-prod', 'sg-db-prod', 'sg-db-backup', 'Complete', 'AwaitingApproval', '1', '2', '1']);
      expect(row?.[8]).to.match(/^\d+[smhd]/);
    });

    it('adds REGION, READY and MESSAGE with -o wide', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('db-prod', { originalSecurityGroupId: 'sg-db-prod', targetSecurityGroupId: 'sg-db-backup', mode: 'Complete' })));
      const patched = await patchStatus(namespace, 'db-prod', { status });
      expect(patched.code, patched.stderr).to.equal(0);

      const wide = await cp.kubectl(['get', 'sgr', '-n', namespace, '-o', 'wide']);
      expect(wide.code, wide.stderr).to.equal(0);
      const [header, row] = table(wide.stdout);
      expect(header).to.deep.equal(['NAME', 'ORIGINAL', 'TARGET', 'MODE', 'PHASE', 'ADD', 'REMOVE', 'SKIPPED', 'AGE', 'REGION', 'READY', 'MESSAGE']);
      expect(row?.slice(9)).to.deep.equal(['cn-hangzhou', 'False', status.message]);
    });

    it('takes status only through the status subresource, and spec only through the main resource', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('split', {})));
      const viaMain = await cp.kubectl(['patch', 'sgrestore', 'split', '-n', namespace, '--type=merge', '-p', JSON.stringify({ status: { phase: 'Completed' } })]);
      expect(viaMain.code, viaMain.stderr).to.equal(0);
      expect((await get(namespace, 'split')).status?.phase, 'status written through the main resource is ignored').to.equal(undefined);

      const viaStatus = await patchStatus(namespace, 'split', { spec: { mode: 'Complete' }, status: { phase: 'Completed' } });
      expect(viaStatus.code, viaStatus.stderr).to.equal(0);
      const stored = await get(namespace, 'split');
      expect(stored.status?.phase).to.equal('Completed');
      expect(stored.spec.mode, 'spec written through the status subresource is ignored').to.equal('Partial');
    });

    it('refuses a status whose condition breaks the metav1.Condition rules or whose phase is unknown', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('strict-status', {})));
      const result = await patchStatus(namespace, 'strict-status', {
        status: { phase: 'Done', conditions: [{ type: 'Ready', status: 'true', reason: 'not camel case', message: '', lastTransitionTime: 'yesterday' }] },
      });
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.contain('status.phase: Unsupported value: "Done"');
      expect(result.stderr).to.contain('status.conditions[0].status: Unsupported value: "true"');
      expect(result.stderr).to.contain('status.conditions[0].reason');
      expect(result.stderr).to.contain('status.conditions[0].lastTransitionTime');
    });

    it('stores a full status as the operator writes it, preview and applied included', async function () {
      const namespace = await cp.createNamespace('crd');
      expectApplied(await apply(namespace, restore('full', { mode: 'Complete' })));
      const full: SecurityGroupRestoreStatus = {
        ...status,
        phase: 'Completed',
        conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-12-01T10:05:00Z', reason: 'Restored', message: 'restored' }],
        preview: { ...preview, truncated: 7, problems: ['IpProtocolUnsupported: the original cannot hold this rule'] },
        applied: { added: 1, removed: 2, updated: 0, time: '2026-12-01T10:05:00Z', planHash: '24ce29f0684d753e', generation: 1 },
      };
      const patched = await patchStatus(namespace, 'full', { status: full });
      expect(patched.code, patched.stderr).to.equal(0);
      expect((await get(namespace, 'full')).status).to.deep.equal(full);
    });
  });
});
