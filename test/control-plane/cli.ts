// npm run cluster:up   — starts etcd + kube-apiserver that outlive this command and prints how to reach them.
// npm run cluster:down — stops them and removes their PKI, logs, etcd data and kubeconfig.
//
// The running control plane is described by <cache>/run/cluster.json (pids, ports, dirs); the admin
// kubeconfig is always <cache>/run/kubeconfig, so scripts and the demo can rely on the path.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { cacheRoot, ensureBinaries } from './build.ts';
import { ControlPlane, isRunning } from './controlplane.ts';
import type { ControlPlaneState } from './controlplane.ts';

const runDir = (): string => join(cacheRoot(), 'run');
const statePath = (): string => join(runDir(), 'cluster.json');
const kubeconfigPath = (): string => join(runDir(), 'kubeconfig');
/** Where kubectl caches discovery when KUBECACHEDIR is exported as printed; removed by down. */
const kubeCacheDir = (): string => join(runDir(), 'kube-cache');

// `npm run cluster:up | head -1` closes stdout early; that must not crash up/down halfway.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function readState(): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(), 'utf8')) as ControlPlaneState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeState(state: ControlPlaneState): Promise<void> {
  const tmp = `${statePath()}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, statePath());
}

/** Both processes alive and the apiserver answering /readyz with ok. */
async function isHealthy(state: ControlPlaneState): Promise<boolean> {
  if (!isRunning(state.pids.etcd) || !isRunning(state.pids.kubeApiserver)) return false;
  try {
    const ca = await readFile(join(state.workDir, 'pki', 'ca.crt'));
    return await new Promise<boolean>((resolve) => {
      const req = httpsRequest(`${state.server}/readyz`, { ca, timeout: 3000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  } catch {
    return false;
  }
}

function printCluster(state: ControlPlaneState, note: string): void {
  say(`${note}: Kubernetes v${state.version} (etcd ${state.etcdVersion}) at ${state.server}`);
  say(`  kube-apiserver pid ${state.pids.kubeApiserver}, log ${state.logs.kubeApiserver}`);
  say(`  etcd pid ${state.pids.etcd} (client port ${state.ports.etcdClient}), log ${state.logs.etcd}`);
  say(`  kubectl v${state.version}: ${state.binaries.kubectl}`);
  say(`admin kubeconfig: ${state.kubeconfigPath}`);
  say('');
  say(`export KUBECONFIG=${state.kubeconfigPath} KUBECACHEDIR=${kubeCacheDir()}`);
  say(`export PATH=${state.binaries.dir}:$PATH   # kubectl matching the server (the machine's tops out at 1.33)`);
}

async function up(): Promise<void> {
  const started = Date.now();
  const existing = await readState();
  if (existing) {
    if (await isHealthy(existing)) {
      printCluster(existing, 'already up');
      return;
    }
    say('found a stale control plane (not healthy); cleaning it up first');
    await ControlPlane.attach(existing).stop();
    await rm(statePath(), { force: true });
  }
  const binaries = await ensureBinaries();
  await mkdir(runDir(), { recursive: true });
  const cp = new ControlPlane({ binaries, detached: true, kubeconfigPath: kubeconfigPath() });
  // The processes are detached: a Ctrl-C before the state file exists would orphan them, so stop them here.
  const abort = (): void => {
    say('interrupted; stopping what was started');
    void cp.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  await cp.start();
  await writeState(cp.state);
  process.off('SIGINT', abort);
  process.off('SIGTERM', abort);
  printCluster(cp.state, 'up');
  say(`started in ${((Date.now() - started) / 1000).toFixed(1)}s; stop with: npm run cluster:down`);
}

async function down(): Promise<void> {
  const state = await readState();
  if (!state) {
    say(`no control plane is up (no ${statePath()})`);
    return;
  }
  await ControlPlane.attach(state).stop();
  await rm(statePath(), { force: true });
  // kubectl run without KUBECACHEDIR caches this server's discovery under ~/.kube, keyed by host_port; a later
  // server on the same port with other CRDs would otherwise be described from that stale cache.
  const home = process.env['HOME'];
  const discovery = home ? join(home, '.kube', 'cache', 'discovery', `127.0.0.1_${state.ports.apiserver}`) : undefined;
  if (discovery) await rm(discovery, { recursive: true, force: true });
  await rm(runDir(), { recursive: true, force: true }); // kubeconfig, KUBECACHEDIR
  const left = [state.workDir, state.kubeconfigPath, runDir(), ...(discovery ? [discovery] : [])].filter((p) => existsSync(p));
  if (left.length > 0 || isRunning(state.pids.etcd) || isRunning(state.pids.kubeApiserver)) {
    throw new Error(`cluster:down left something behind: ${left.join(', ')}`);
  }
  say(`down: stopped kube-apiserver (pid ${state.pids.kubeApiserver}) and etcd (pid ${state.pids.etcd}); removed ${state.workDir}`);
}

const command = process.argv[2];
const run = command === 'up' ? up : command === 'down' ? down : undefined;
if (!run) {
  process.stderr.write('usage: node test/control-plane/cli.ts up|down\n');
  process.exitCode = 2;
} else {
  run().catch((e: unknown) => {
    process.stderr.write(`cluster:${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
