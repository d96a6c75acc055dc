// The test control plane is a real kube-apiserver: CRD schemas with CEL rules, printer columns behind
// `kubectl get`, and RBAC all behave as they would in a cluster.
import { expect } from 'chai';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import type { ControlPlane } from '../control-plane/controlplane.ts';
import { statusCodeOf } from '../control-plane/controlplane.ts';
import { sharedControlPlane } from '../control-plane/fixture.ts';

const group = 'cp-test.sgrestore.dev';
const plural = 'widgets';
const celMessage = 'minReplicas must not exceed maxReplicas';

/** A test-only CRD: one CEL rule across two fields; printer columns, one of them only with -o wide. */
const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Color', type: 'string', jsonPath: '.spec.color' },
          { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas' },
          { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          { name: 'Note', type: 'string', jsonPath: '.spec.note', priority: 1 },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['color', 'minReplicas', 'maxReplicas'],
                'x-kubernetes-validations': [{ rule: 'self.minReplicas <= self.maxReplicas', message: celMessage }],
                properties: {
                  color: { type: 'string' },
                  minReplicas: { type: 'integer', minimum: 0 },
                  maxReplicas: { type: 'integer', minimum: 0 },
                  note: { type: 'string' },
                },
              },
            },
          },
        },
      },
    ],
  },
};

function widget(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec };
}

/** The message of a failed client-node call: the Status body's message when there is one. */
function statusMessageOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'body' in e) {
    const body = (e as { body: unknown }).body;
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') return parsed.message;
  }
  return e instanceof Error ? e.message : String(e);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the API call to be refused, but it succeeded');
}

/** Splits `kubectl get` table output into rows of cells (columns are separated by 2+ spaces). */
function table(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('the test control plane', function () {
  let cp: ControlPlane;

  before(async function () {
    // The first integration test of a run starts the shared control plane (and, on a machine that has never
    // built them, builds the binaries: minutes, not seconds).
    this.timeout(45 * 60_000);
    cp = await sharedControlPlane();
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: toYaml(widgetCrd) });
    expect(applied.code, applied.stderr).to.equal(0);
    const established = await cp.kubectl(['wait', '--for=condition=Established', `crd/${plural}.${group}`, '--timeout=30s']);
    expect(established.code, established.stderr).to.equal(0);
  });

  it('answers /readyz with ok to kubectl built for the same version', async function () {
    const ready = await cp.kubectl(['get', '--raw', '/readyz']);
    expect(ready.stdout.trim()).to.equal('ok');
    const version = await cp.kubectl(['version', '-o', 'json']);
    const parsed = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(parsed.serverVersion.gitVersion).to.equal(`v${cp.version}`);
    expect(parsed.clientVersion.gitVersion).to.equal(parsed.serverVersion.gitVersion);
  });

  it('rejects an object that breaks the CRD\'s CEL rule with 422 and the rule\'s message', async function () {
    const namespace = await cp.createNamespace();
    const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    const e = await rejection(
      api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: widget('inverted', { color: 'red', minReplicas: 5, maxReplicas: 2 }) }),
    );
    expect(statusCodeOf(e)).to.equal(422);
    expect(statusMessageOf(e)).to.contain(celMessage);
  });

  it('accepts an object that satisfies the CEL rule and stores it as sent', async function () {
    const namespace = await cp.createNamespace();
    const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    await api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: widget('ordered', { color: 'blue', minReplicas: 1, maxReplicas: 3 }) });
    const stored = (await api.getNamespacedCustomObject({ group, version: 'v1', namespace, plural, name: 'ordered' })) as { spec: unknown };
    expect(stored.spec).to.deep.equal({ color: 'blue', minReplicas: 1, maxReplicas: 3 });
  });

  it('shows the CRD\'s printer columns in kubectl get, and priority-1 columns only with -o wide', async function () {
    const namespace = await cp.createNamespace();
    const created = await cp.kubectl(['apply', '-n', namespace, '-f', '-'], {
      input: toYaml(widget('shown', { color: 'green', minReplicas: 2, maxReplicas: 4, note: 'hello' })),
    });
    expect(created.code, created.stderr).to.equal(0);

    const plain = await cp.kubectl(['get', `${plural}.${group}`, '-n', namespace]);
    expect(plain.code, plain.stderr).to.equal(0);
    const [header, row] = table(plain.stdout);
    expect(header).to.deep.equal(['NAME', 'COLOR', 'MIN', 'MAX', 'AGE']);
    expect(row?.slice(0, 4)).to.deep.equal(['shown', 'green', '2', '4']);

    const wide = await cp.kubectl(['get', `${plural}.${group}`, '-n', namespace, '-o', 'wide']);
    const [wideHeader, wideRow] = table(wide.stdout);
    expect(wideHeader).to.deep.equal(['NAME', 'COLOR', 'MIN', 'MAX', 'AGE', 'NOTE']);
    expect(wideRow?.at(-1)).to.equal('hello');
  });

  it('refuses a ServiceAccount token without RBAC grants with 403, naming the ServiceAccount', async function () {
    const namespace = await cp.createNamespace();
    const kubeconfig = await cp.serviceAccountKubeconfig(namespace, 'no-grants');
    const asServiceAccount = cp.kubeConfig(kubeconfig).makeApiClient(CoreV1Api);
    const e = await rejection(asServiceAccount.listNamespacedConfigMap({ namespace }));
    expect(statusCodeOf(e)).to.equal(403);
    // 403 rather than 401: the token authenticated, and RBAC is what said no.
    expect(statusMessageOf(e)).to.contain(`system:serviceaccount:${namespace}:no-grants`);

    const viaKubectl = await cp.kubectl(['get', 'configmaps', '-n', namespace], { kubeconfig });
    expect(viaKubectl.code).to.not.equal(0);
    expect(viaKubectl.stderr).to.match(/forbidden/i);
  });

  it('lets a ServiceAccount token in once a RoleBinding grants it access', async function () {
    const namespace = await cp.createNamespace();
    const kubeconfig = await cp.serviceAccountKubeconfig(namespace, 'reader');
    const rbac = cp.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const asServiceAccount = cp.kubeConfig(kubeconfig).makeApiClient(CoreV1Api);
    // The RBAC authorizer reads bindings from an informer cache, so the grant takes effect shortly after.
    let lastCode: number | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const list = await asServiceAccount.listNamespacedConfigMap({ namespace });
        expect(list.items).to.be.an('array');
        return;
      } catch (e) {
        lastCode = statusCodeOf(e);
        if (lastCode !== 403) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect.fail(`still refused (${lastCode}) after the RoleBinding was created`);
  });
});
