// `npm run demo`: the main job end to end on this machine. Starts a local kube-apiserver + etcd (built from Go
// modules on first use), the ECS emulator seeded with sample groups, and the operator under the ServiceAccount and
// RBAC of deploy/; applies examples/ with kubectl; shows `kubectl get sgrestore -o wide`, the preview of the
// Manual restore, approves it with `sgrestore approve`, and shows the result. Everything listens on 127.0.0.1 and
// is stopped when the demo ends (also on Ctrl-C).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import { ensureBinaries } from '../test/control-plane/build.ts';
import { ControlPlane } from '../test/control-plane/controlplane.ts';
import { EcsEmulator } from '../test/emulator/server.ts';
import type { EmulatedPermission } from '../test/emulator/server.ts';
import { main } from '../src/cli/main.ts';
import type { SecurityGroupRestore } from '../src/api/types.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NS = 'sgrestore-demo';
const color = process.stdout.isTTY === true || Boolean(process.env.FORCE_COLOR);
const say = (text: string) => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n${color ? styleText('bold', `== ${text}`, { validateStream: false }) : `== ${text}`}`);

async function run(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    step('1. local control plane (kube-apiserver + etcd built from Go modules; the first run builds them)');
    const cp = new ControlPlane({ binaries: await ensureBinaries() });
    cleanups.push(() => cp.stop());
    await cp.start();
    say(`kube-apiserver ${cp.version} at ${cp.server}; admin kubeconfig ${cp.kubeconfigPath}`);
    const kubectl = async (args: string[], quiet = false): Promise<string> => {
      const r = await cp.kubectl(args);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      if (!quiet) process.stdout.write(r.stdout);
      return r.stdout;
    };

    step('2. kubectl apply -f crds/ && kubectl apply -k deploy/  (CRD, namespace, ServiceAccount, least-privilege RBAC)');
    await kubectl(['apply', '-f', `${ROOT}crds/`]);
    await kubectl(['wait', '--for=condition=Established', 'crd/securitygrouprestores.ecs.sgrestore.io', '--timeout=60s'], true);
    await kubectl(['apply', '-k', `${ROOT}deploy/`]);

    step('3. ECS emulator seeded from test/fixtures/examples.yaml');
    const emulator = await EcsEmulator.start();
    cleanups.push(() => emulator.stop());
    emulator.loadSeedFile(`${ROOT}test/fixtures/examples.yaml`);
    say(`ECS endpoint ${emulator.url}`);

    step('4. the operator: sgrestore run, as the ServiceAccount sgrestore-system/sgrestore-controller');
    const saKubeconfig = await cp.serviceAccountKubeconfig('sgrestore-system', 'sgrestore-controller');
    const operator = spawn(
      process.execPath,
      [`${ROOT}src/cli/entry.ts`, 'run', `--kubeconfig=${saKubeconfig}`, `--ecs-endpoint=${emulator.url}`, '--leader-election-namespace=sgrestore-system', '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', '--log-format=human', '--log-level=warn'],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' } },
    );
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (operator.exitCode !== null) return resolve();
          operator.once('exit', () => resolve());
          operator.kill('SIGTERM');
        }),
    );

    step('5. kubectl apply -f examples/  (Complete, Partial, and a Complete restore with Manual approval)');
    await kubectl(['apply', '-f', `${ROOT}examples/`]);
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'sgrestore/web-prod', 'sgrestore/api-prod', '--timeout=120s']);
    await kubectl(['-n', NS, 'wait', '--for=jsonpath={.status.phase}=AwaitingApproval', 'sgrestore/db-prod', '--timeout=120s']);

    step(`6. kubectl get sgrestore -n ${NS} -o wide`);
    await kubectl(['-n', NS, 'get', 'sgrestore', '-o', 'wide']);

    step('7. the Manual restore waits: its preview (status.preview) — nothing was applied to sg-db-prod');
    const db = JSON.parse(await kubectl(['-n', NS, 'get', 'sgrestore', 'db-prod', '-o', 'json'], true)) as SecurityGroupRestore;
    const paint = (action: string, text: string) => {
      const style = action === 'add' ? 'green' : action === 'remove' ? 'red' : action === 'update' ? 'yellow' : 'cyan';
      return color ? styleText(style, text, { validateStream: false }) : text;
    };
    for (const rule of db.status?.preview?.rules ?? []) say(paint(rule.action, `  ${rule.action.padEnd(6)} ${rule.rule}`));
    say(`  planHash ${db.status?.preview?.planHash ?? ''}`);

    step(`8. sgrestore approve db-prod -n ${NS}   (also: kubectl sgrestore approve …)`);
    const code = await main(['approve', 'db-prod', '-n', NS, '--kubeconfig', cp.kubeconfigPath], { stdout: process.stdout, stderr: process.stderr, env: process.env });
    if (code !== 0) throw new Error('approve failed');
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'sgrestore/db-prod', '--timeout=120s'], true);
    await kubectl(['-n', NS, 'get', 'sgrestore', '-o', 'wide']);

    step('9. the originals now hold their backups\' rules (system rules aside)');
    const userRules = (rules: EmulatedPermission[]) => rules.filter((r) => r.Priority !== 110).length;
    for (const [original, target] of [['sg-web-prod', 'sg-web-backup'], ['sg-api-prod', 'sg-api-backup'], ['sg-db-prod', 'sg-db-backup']] as const) {
      say(`  ${original}: ${userRules(emulator.rules(original))} user rules (backup ${target}: ${userRules(emulator.rules(target))})`);
    }
    say(`  ECS calls: ${emulator.calls().length} in all, ${emulator.calls().filter((c) => c.mutating && c.applied).length} mutating`);
  } finally {
    step('stopping the operator, the emulator and the control plane');
    await cleanup();
  }
}

run().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
