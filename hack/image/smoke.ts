// `npm run image:smoke`: runs the image `npm run image:build` made the way deploy/ runs it, and checks it.
//
// The container gets what the Deployment in deploy/deployment.yaml gives it, read from that file: a read-only root
// filesystem with a small tmpfs on /tmp, all capabilities dropped, the numeric non-root user, no privilege
// escalation, the runtime's default seccomp profile, the Deployment's args and env. Kubernetes access goes the
// in-cluster way: a TokenRequest token for deploy/'s ServiceAccount, the cluster CA and the namespace mounted at
// /var/run/secrets/kubernetes.io/serviceaccount/, KUBERNETES_SERVICE_HOST/PORT set, host network to the local
// control plane (test/control-plane) on 127.0.0.1. ECS is the emulator (test/emulator), seeded with
// test/fixtures/examples.yaml, set through SGRESTORE_ECS_ENDPOINT.
//
// Checks: the image (numeric non-root user equal to deploy/'s, exec-form entrypoint, labels, no dev dependency, no
// npm, nothing but the runtime files); the running process (uid/gid, no capabilities, no_new_privs, seccomp, PID 1
// is node, root read-only); /healthz, /readyz, /metrics; the lease it takes as the ServiceAccount;
// `kubectl apply -f examples/` reconciled (Complete and Partial restores Completed and Ready, the Manual one
// AwaitingApproval); SIGTERM (`podman stop`) ends it within SIGTERM_BUDGET_S seconds with exit code 0, no error
// logged, the lease released. Everything it starts (container, emulator, control plane) is stopped on the way out,
// failure or not. Exit status 1 and a list of the failed checks when any fails.
//
//   npm run image:smoke                    # localhost/sgrestore:<package.json version>
//   IMAGE=localhost/sgrestore:dev npm run image:smoke
//   SGRESTORE_SMOKE_LOGS=1 npm run image:smoke      # echo the container's log lines

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { ensureBinaries } from '../../test/control-plane/build.ts';
import { ControlPlane, httpGet } from '../../test/control-plane/controlplane.ts';
import { EcsEmulator } from '../../test/emulator/server.ts';
import type { SecurityGroupRestore } from '../../src/api/types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How fast SIGTERM must end the operator: well inside the Deployment's grace period (40 s), with nothing in flight. */
const SIGTERM_BUDGET_S = 15;
/** Everything together; a hang guard, not a timing assertion. */
const OVERALL_TIMEOUT_MS = 15 * 60_000;
/** Dev dependencies named explicitly, beyond the lock file's "dev": true entries. */
const NAMED_DEV_DEPENDENCIES = ['typescript', 'mocha', 'eslint', 'fast-check', 'chai', 'sinon', 'typescript-eslint'];

const say = (text: string): void => void process.stdout.write(`${text}\n`);
const step = (text: string): void => say(`\n== image:smoke: ${text}`);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}
const checks: Check[] = [];
/** Records a check and goes on. */
function check(name: string, ok: boolean, detail = ''): boolean {
  checks.push({ name, ok, detail });
  say(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
/** A check the rest cannot do without: records it and stops the run when it fails. */
function must(name: string, ok: boolean, detail = ''): void {
  if (!check(name, ok, detail)) throw new Fatal(`${name}${detail ? `: ${detail}` : ''}`, true);
}
/** A failure that ends the run; `recorded` when it is a failed check already in the list. */
class Fatal extends Error {
  readonly recorded: boolean;
  constructor(message: string, recorded = false) {
    super(message);
    this.recorded = recorded;
  }
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input ?? '');
  });
}

async function podman(args: readonly string[]): Promise<string> {
  const r = await run('podman', args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, stillRunning: () => string | undefined = () => undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const dead = stillRunning();
    if (dead) throw new Fatal(`${dead} while waiting for ${what}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Fatal(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(250);
  }
}

// --- what deploy/ says ------------------------------------------------------------------------------------------

interface DeploySpec {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly container: V1Container;
  readonly user: number;
  readonly group: number;
  readonly graceSeconds: number;
  readonly tmpfsMounts: readonly { path: string; sizeBytes: number }[];
}

function quantityBytes(q: string | undefined): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|k|M|G)?$/.exec(q ?? '');
  if (!m) return 16 * 1024 * 1024;
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** Reads deploy/deployment.yaml and checks that it asks for what this test then runs. */
async function readDeploy(): Promise<DeploySpec> {
  const deployment = parseYaml(await readFile(join(ROOT, 'deploy/deployment.yaml'), 'utf8')) as V1Deployment;
  const pod = deployment.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === 'controller') ?? pod?.containers[0];
  if (!pod || !container) throw new Fatal('deploy/deployment.yaml has no pod template container');
  const sc = container.securityContext ?? {};
  const podSc = pod.securityContext ?? {};
  const user = sc.runAsUser ?? podSc.runAsUser;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  check('deploy: runAsNonRoot with a numeric non-root runAsUser/runAsGroup', (sc.runAsNonRoot ?? podSc.runAsNonRoot) === true && !!user && user > 0 && !!group && group > 0, `runAsUser ${user}, runAsGroup ${group}`);
  check('deploy: readOnlyRootFilesystem', sc.readOnlyRootFilesystem === true);
  check('deploy: allowPrivilegeEscalation false', sc.allowPrivilegeEscalation === false);
  check('deploy: capabilities drop ALL, add none', (sc.capabilities?.drop ?? []).includes('ALL') && (sc.capabilities?.add ?? []).length === 0);
  check('deploy: seccompProfile RuntimeDefault', (sc.seccompProfile ?? podSc.seccompProfile)?.type === 'RuntimeDefault');
  const args = container.args ?? [];
  const healthArg = args.find((a) => a.startsWith('--health-probe-bind-address='));
  const healthPort = Number(/:([0-9]+)$/.exec(healthArg ?? '')?.[1]);
  const namedHealth = container.ports?.find((p) => p.name === 'health');
  const probePort = (p: V1Container['livenessProbe']): number | undefined => {
    const port = p?.httpGet?.port;
    return typeof port === 'number' ? port : container.ports?.find((cp) => cp.name === port)?.containerPort;
  };
  check('deploy: livenessProbe GET /healthz on the health-probe port', container.livenessProbe?.httpGet?.path === '/healthz' && probePort(container.livenessProbe) === healthPort, `probe port ${probePort(container.livenessProbe)}, ${healthArg ?? 'no --health-probe-bind-address'}`);
  check('deploy: readinessProbe GET /readyz on the health-probe port', container.readinessProbe?.httpGet?.path === '/readyz' && probePort(container.readinessProbe) === healthPort && namedHealth?.containerPort === healthPort);
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const tmpfsMounts = (container.volumeMounts ?? [])
    .filter((m) => volumes.get(m.name)?.emptyDir)
    .map((m) => ({ path: m.mountPath, sizeBytes: quantityBytes(volumes.get(m.name)?.emptyDir?.sizeLimit) }));
  if (!user || !group) throw new Fatal('deploy/deployment.yaml sets no runAsUser/runAsGroup');
  return {
    name: deployment.metadata?.name ?? 'sgrestore-controller',
    namespace: deployment.metadata?.namespace ?? 'default',
    serviceAccount: pod.serviceAccountName ?? 'default',
    container,
    user,
    group,
    graceSeconds: pod.terminationGracePeriodSeconds ?? 30,
    tmpfsMounts,
  };
}

// --- the image, without running the operator --------------------------------------------------------------------

interface ImageConfig {
  User?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  Env?: string[] | null;
}

/** Lists /app and its node_modules inside the image (runs in the container: plain JavaScript, no TypeScript). */
const LIST_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const packages = [];
const walk = (dir, rel) => {
  let entries = [];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    if (e.name.startsWith('@')) { walk(path.join(dir, e.name), rel + e.name + '/'); continue; }
    const pkgDir = path.join(dir, e.name);
    packages.push(rel + e.name);
    walk(path.join(pkgDir, 'node_modules'), rel + e.name + '/node_modules/');
  }
};
walk('/app/node_modules', 'node_modules/');
const exists = (p) => fs.existsSync(p);
let rootWrite = 'writable';
try { fs.writeFileSync('/app/.probe', 'x'); } catch (e) { rootWrite = e.code; }
process.stdout.write(JSON.stringify({
  app: fs.readdirSync('/app').sort(),
  packages,
  npm: ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/lib/node_modules/npm'].filter(exists),
  tsFiles: fs.readdirSync('/app/dist/src', { recursive: true }).filter((f) => String(f).endsWith('.ts')),
  rootWrite,
  uid: process.getuid(),
  gid: process.getgid(),
  node: process.versions.node,
}));
`;

interface Listing {
  app: string[];
  packages: string[];
  npm: string[];
  tsFiles: string[];
  rootWrite: string;
  uid: number;
  gid: number;
  node: string;
}

interface LockFile {
  packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
}

async function checkImage(image: string, deploy: DeploySpec, version: string): Promise<void> {
  const [inspected] = JSON.parse(await podman(['image', 'inspect', image])) as { Config: ImageConfig; Size: number }[];
  if (!inspected) throw new Fatal(`podman image inspect ${image} returned nothing`);
  const config = inspected.Config;
  const user = config.User ?? '';
  const [uid, gid] = user.split(':').map((s) => (/^[0-9]+$/.test(s) ? Number(s) : NaN));
  check('image user is numeric and non-root', uid !== undefined && Number.isInteger(uid) && uid > 0 && gid !== undefined && Number.isInteger(gid) && gid > 0, `Config.User "${user}"`);
  check("image user is deploy/'s runAsUser:runAsGroup", user === `${deploy.user}:${deploy.group}`, `deploy: ${deploy.user}:${deploy.group}`);
  check('entrypoint is exec form, node itself (no shell)', JSON.stringify(config.Entrypoint) === JSON.stringify(['node', '/app/bin/sgrestore.js']) && JSON.stringify(config.Cmd) === JSON.stringify(['run']),
    `Entrypoint ${JSON.stringify(config.Entrypoint)}, Cmd ${JSON.stringify(config.Cmd)}`);
  check('stop signal is SIGTERM', !config.StopSignal || config.StopSignal === 'SIGTERM' || config.StopSignal === '15', config.StopSignal || '(default)');
  const labels = config.Labels ?? {};
  check('OCI labels: version, licenses, source', labels['org.opencontainers.image.version'] === version && labels['org.opencontainers.image.licenses'] === 'Apache-2.0' && 'org.opencontainers.image.source' in labels,
    `version ${labels['org.opencontainers.image.version']}, licenses ${labels['org.opencontainers.image.licenses']}`);
  check('NODE_ENV=production', (config.Env ?? []).includes('NODE_ENV=production'));
  say(`  image size ${Math.round(inspected.Size / 1e6)} MB (uncompressed)`);

  const out = await podman(['run', '--rm', '--pull=never', '--network=none', '--read-only', '--cap-drop=ALL', '--security-opt', 'no-new-privileges',
    '--entrypoint', 'node', image, '-e', LIST_SCRIPT]);
  const listing = JSON.parse(out) as Listing;
  check('the image runs as that user', listing.uid === uid && listing.gid === gid, `uid ${listing.uid}, gid ${listing.gid}`);
  check('node 24 in the image', listing.node.startsWith('24.'), listing.node);
  check('/app holds only the runtime files', JSON.stringify(listing.app) === JSON.stringify(['bin', 'crds', 'dist', 'node_modules', 'package.json']), listing.app.join(' '));
  check('no TypeScript sources in dist/', listing.tsFiles.length === 0, listing.tsFiles.slice(0, 5).join(' '));
  check('no npm/npx in the image', listing.npm.length === 0, listing.npm.join(' '));
  check('/app is not writable (read-only root)', listing.rootWrite === 'EROFS', listing.rootWrite);

  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as LockFile;
  const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
  const dev = new Set(entries.filter(([, p]) => p.dev === true).map(([path]) => path));
  const prod = entries.filter(([, p]) => p.dev !== true && p.optional !== true).map(([path]) => path);
  const inImage = new Set(listing.packages);
  const devInImage = [...inImage].filter((p) => dev.has(p));
  const named = [...inImage].filter((p) => NAMED_DEV_DEPENDENCIES.includes(p.replace(/^.*node_modules\//, '')));
  const missing = prod.filter((p) => !inImage.has(p));
  const unknown = [...inImage].filter((p) => !(p in lock.packages));
  check('no dev dependency in /app/node_modules (package-lock "dev": true)', devInImage.length === 0, devInImage.length ? devInImage.slice(0, 10).join(' ') : `${dev.size} dev packages in the lock file, none in the image`);
  check(`none of ${NAMED_DEV_DEPENDENCIES.join(', ')}`, named.length === 0, named.join(' '));
  check('every production dependency of the lock file present', missing.length === 0, missing.length ? missing.slice(0, 10).join(' ') : `${prod.length} packages`);
  check('nothing in node_modules the lock file does not list', unknown.length === 0, unknown.slice(0, 10).join(' '));
}

// --- the operator in the container ------------------------------------------------------------------------------

interface Container {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logs: string[];
  readonly exited: Promise<number>;
  exitCode(): number | undefined;
}

function startContainer(name: string, args: readonly string[]): Container {
  const child = spawn('podman', ['run', '--name', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  let code: number | undefined;
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (c, signal) => {
      code = c ?? (signal ? 128 : -1);
      resolve(code);
    }),
  );
  child.on('error', (e) => logs.push(`podman: ${e.message}`));
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        logs.push(line);
        if (process.env['SGRESTORE_SMOKE_LOGS']) process.stdout.write(`  | ${line}\n`);
      }
    });
  }
  return { name, child, logs, exited, exitCode: () => code };
}

const statusField = (status: string, field: string): string => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';

async function main(): Promise<void> {
  const started = Date.now();
  const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
  let cleaned = false;
  let interrupted = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    step('cleaning up');
    for (const c of cleanups.reverse()) {
      await c.run().then(
        () => say(`  stopped ${c.what}`),
        (error: unknown) => say(`  could not stop ${c.what}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      say(`\nimage:smoke: ${signal}: stopping`);
      void cleanup().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  const watchdog = setTimeout(() => {
    say(`\nimage:smoke: no result after ${OVERALL_TIMEOUT_MS / 60_000} min: giving up`);
    void cleanup().then(() => process.exit(1));
  }, OVERALL_TIMEOUT_MS);
  watchdog.unref();

  let container: Container | undefined;
  const timings: string[] = [];
  try {
    const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const image = process.env['IMAGE'] || `localhost/sgrestore:${version}`;

    step(`1. deploy/deployment.yaml: the settings this test runs the image with`);
    const deploy = await readDeploy();

    step(`2. the image ${image}`);
    must('image present (npm run image:build)', (await run('podman', ['image', 'exists', image])).code === 0, image);
    let t = Date.now();
    await checkImage(image, deploy, version);
    timings.push(`image checks ${seconds(Date.now() - t)} s`);

    step('3. local control plane (kube-apiserver + etcd), crds/ and deploy/ applied');
    t = Date.now();
    const cp = new ControlPlane({ binaries: await ensureBinaries() });
    cleanups.push({ what: 'the control plane', run: () => cp.stop() });
    await cp.start();
    const kubectl = async (args: string[]): Promise<string> => {
      const r = await cp.kubectl(args);
      if (r.code !== 0) throw new Fatal(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    await kubectl(['apply', '-f', join(ROOT, 'crds/')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/securitygrouprestores.ecs.sgrestore.io', '--timeout=60s']);
    await kubectl(['apply', '-k', join(ROOT, 'deploy/')]);
    const apiPort = cp.state.ports.apiserver;
    say(`  kube-apiserver ${cp.version} at ${cp.server}`);
    timings.push(`control plane ${seconds(Date.now() - t)} s`);

    step('4. ECS emulator seeded from test/fixtures/examples.yaml');
    const emulator = await EcsEmulator.start();
    cleanups.push({ what: 'the ECS emulator', run: () => emulator.stop() });
    emulator.loadSeedFile(join(ROOT, 'test/fixtures/examples.yaml'));
    say(`  ECS endpoint ${emulator.url}`);

    step(`5. the ServiceAccount's files, as the kubelet mounts them`);
    const token = (await kubectl(['create', 'token', deploy.serviceAccount, '-n', deploy.namespace, '--duration=1h'])).trim();
    const caData = cp.kubeConfig().getCurrentCluster()?.caData;
    if (!token || !caData) throw new Fatal('no ServiceAccount token or cluster CA');
    const saDir = await mkdtemp(join(tmpdir(), 'sgrestore-smoke-sa-'));
    cleanups.push({ what: 'the ServiceAccount files', run: () => rm(saDir, { recursive: true, force: true }) });
    await writeFile(join(saDir, 'token'), token);
    await writeFile(join(saDir, 'ca.crt'), Buffer.from(caData, 'base64'));
    await writeFile(join(saDir, 'namespace'), deploy.namespace);
    // The kubelet's defaultMode is 0644; the directory must be searchable by the container's user.
    await chmod(saDir, 0o755);
    for (const f of await readdir(saDir)) await chmod(join(saDir, f), 0o644);
    say(`  token for ${deploy.namespace}/${deploy.serviceAccount} (TokenRequest), ca.crt, namespace in ${saDir}`);

    step('6. podman run, as deploy/ runs it');
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    const args = (deploy.container.args ?? []).map((a) =>
      a.startsWith('--health-probe-bind-address=') ? `--health-probe-bind-address=127.0.0.1:${healthPort}`
        : a.startsWith('--metrics-bind-address=') ? `--metrics-bind-address=127.0.0.1:${metricsPort}` : a);
    if (!args.some((a) => a.startsWith('--health-probe-bind-address='))) args.push(`--health-probe-bind-address=127.0.0.1:${healthPort}`);
    if (!args.some((a) => a.startsWith('--metrics-bind-address='))) args.push(`--metrics-bind-address=127.0.0.1:${metricsPort}`);
    const podName = `${deploy.name}-smoke`;
    const env: Record<string, string> = {};
    for (const e of deploy.container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = deploy.namespace;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    }
    Object.assign(env, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(apiPort), SGRESTORE_ECS_ENDPOINT: emulator.url });
    const sc = deploy.container.securityContext ?? {};
    const flags = [
      '--pull=never',
      '--network=host',
      '--user', `${deploy.user}:${deploy.group}`,
      ...(sc.readOnlyRootFilesystem ? ['--read-only', '--read-only-tmpfs=false'] : []),
      ...deploy.tmpfsMounts.flatMap((m) => ['--tmpfs', `${m.path}:rw,size=${m.sizeBytes},mode=1777`]),
      ...((sc.capabilities?.drop ?? []).includes('ALL') ? ['--cap-drop=ALL'] : []),
      ...(sc.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []),
      // seccomp RuntimeDefault: podman's default profile applies unless told otherwise (checked below).
      '--volume', `${saDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ];
    const name = `sgrestore-smoke-${randomBytes(4).toString('hex')}`;
    say(`  podman run --name ${name} ${flags.join(' ')} ${image} ${args.join(' ')}`);
    t = Date.now();
    const c = startContainer(name, [...flags, image, ...args]);
    container = c;
    cleanups.push({ what: `container ${name}`, run: () => run('podman', ['rm', '--force', '--time', '0', name]) });
    const dead = (): string | undefined => (c.exitCode() !== undefined ? `the container exited (${c.exitCode()})` : undefined);

    const ready = await eventually('/readyz', async () => {
      const r = await httpGet(`http://127.0.0.1:${healthPort}/readyz`);
      return r.status === 200 ? r : undefined;
    }, 90_000, dead);
    const startup = Date.now() - t;
    timings.push(`container start to /readyz ${seconds(startup)} s`);
    check('/readyz answers 200 ok', ready.body.trim() === 'ok', `after ${seconds(startup)} s`);
    const healthz = await httpGet(`http://127.0.0.1:${healthPort}/healthz`);
    check('/healthz answers 200 ok', healthz.status === 200 && healthz.body.trim() === 'ok', `${healthz.status} ${healthz.body.trim().slice(0, 80)}`);
    const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    check('/metrics answers with Prometheus text', metrics.status === 200 && metrics.body.includes('# HELP'), `${metrics.status}, ${metrics.body.length} bytes`);

    step('7. the process in the container');
    const pid = Number((await podman(['inspect', '--format', '{{.State.Pid}}', name])).trim());
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    const ids = (field: string): string[] => statusField(status, field).split(/\s+/);
    check(`uid and gid ${deploy.user}/${deploy.group} (real, effective, saved, fs)`, ids('Uid').every((v) => v === String(deploy.user)) && ids('Gid').every((v) => v === String(deploy.group)), `Uid ${ids('Uid').join(' ')}, Gid ${ids('Gid').join(' ')}`);
    const caps = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((f) => `${f} ${statusField(status, f)}`);
    check('no capabilities (inheritable, permitted, effective, bounding, ambient)', caps.every((s) => /\s0+$/.test(s)), caps.join(', '));
    check('no_new_privs set', statusField(status, 'NoNewPrivs') === '1');
    check('seccomp filter active (RuntimeDefault)', statusField(status, 'Seccomp') === '2', `Seccomp ${statusField(status, 'Seccomp')}`);
    check('PID 1 of the container is node itself (exec form, no shell)', statusField(status, 'NSpid').split(/\s+/).at(-1) === '1' && cmdline[0] === 'node' && cmdline[1] === '/app/bin/sgrestore.js',
      `NSpid ${statusField(status, 'NSpid')}, cmdline ${cmdline.slice(0, 3).join(' ')}`);
    const writes = await run('podman', ['exec', name, 'node', '-e',
      `const fs=require('node:fs');const t=(p)=>{try{fs.writeFileSync(p,'x');fs.rmSync(p);return 'ok'}catch(e){return e.code}};process.stdout.write(JSON.stringify({root:t('/probe'),app:t('/app/probe'),tmp:t('/tmp/probe'),sa:t('/var/run/secrets/kubernetes.io/serviceaccount/probe')}))`]);
    const w = JSON.parse(writes.stdout || '{}') as Record<string, string>;
    check('root filesystem read-only, /tmp writable, ServiceAccount mount read-only', w['root'] === 'EROFS' && w['app'] === 'EROFS' && w['tmp'] === 'ok' && w['sa'] === 'EROFS', JSON.stringify(w));

    step('8. in-cluster configuration: the lease, taken as the ServiceAccount');
    const leaseName = (args.find((a) => a.startsWith('--leader-election-id=')) ?? '=sgrestore-controller').split('=')[1] ?? 'sgrestore-controller';
    if (args.includes('--leader-elect')) {
      const holder = await eventually('the leader lease', async () => {
        const h = (await kubectl(['-n', deploy.namespace, 'get', 'lease', leaseName, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
        return h ? h : undefined;
      }, 30_000, dead);
      check(`lease ${deploy.namespace}/${leaseName} held by this pod (POD_NAME, PID 1)`, holder === `${podName}_1`, holder);
    }
    const review = await cp.kubectl(['create', '-f', '-', '-o', 'jsonpath={.status.user.username}'], {
      input: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
    });
    const who = review.stdout.trim();
    check('the mounted token is the ServiceAccount (TokenReview)', who === `system:serviceaccount:${deploy.namespace}:${deploy.serviceAccount}`, who || review.stderr.trim());

    step('9. kubectl apply -f examples/ and wait for the restores');
    t = Date.now();
    await kubectl(['apply', '-f', join(ROOT, 'examples/')]);
    const ns = 'sgrestore-demo';
    const get = async (n: string): Promise<SecurityGroupRestore> => JSON.parse(await kubectl(['-n', ns, 'get', 'sgrestore', n, '-o', 'json'])) as SecurityGroupRestore;
    const ready2 = (r: SecurityGroupRestore): boolean => r.status?.conditions?.some((cond) => cond.type === 'Ready' && cond.status === 'True') === true;
    const expected: { name: string; phase: string; ready: boolean; applied?: { added: number; removed: number; updated: number } }[] = [
      { name: 'web-prod', phase: 'Completed', ready: true, applied: { added: 1, removed: 2, updated: 1 } },
      { name: 'api-prod', phase: 'Completed', ready: true, applied: { added: 3, removed: 0, updated: 0 } },
      { name: 'db-prod', phase: 'AwaitingApproval', ready: false },
    ];
    for (const e of expected) {
      const r = await eventually(`${ns}/${e.name} ${e.phase}`, async () => {
        const got = await get(e.name);
        return got.status?.phase === e.phase ? got : undefined;
      }, 90_000, dead).catch((error: unknown) => {
        check(`${e.name}: ${e.phase}`, false, error instanceof Error ? error.message : String(error));
        return undefined;
      });
      if (!r) continue;
      const applied = r.status?.applied;
      const appliedOk = !e.applied || (applied?.added === e.applied.added && applied?.removed === e.applied.removed && applied?.updated === e.applied.updated);
      check(`${e.name}: ${e.phase}${e.ready ? ', Ready' : ''}${e.applied ? `, applied +${e.applied.added} -${e.applied.removed} ~${e.applied.updated}` : ''}`,
        ready2(r) === e.ready && appliedOk, `phase ${r.status?.phase}, Ready ${ready2(r)}, applied ${JSON.stringify(applied ?? {})}`);
    }
    const mutating = emulator.calls().filter((call) => call.mutating && call.applied);
    check('the emulator saw the operator change the groups', mutating.length > 0, `${emulator.calls().length} ECS calls, ${mutating.length} applied changes`);
    timings.push(`examples reconciled ${seconds(Date.now() - t)} s`);

    step(`10. podman stop (SIGTERM; SIGKILL only after the Deployment's grace period, ${deploy.graceSeconds} s)`);
    t = Date.now();
    await podman(['stop', '--time', String(deploy.graceSeconds), name]);
    const exitCode = await c.exited;
    const stopMs = Date.now() - t;
    timings.push(`SIGTERM to exit ${seconds(stopMs)} s`);
    const inspectedExit = Number((await podman(['inspect', '--format', '{{.State.ExitCode}}', name])).trim());
    check('exit code 0 after SIGTERM', inspectedExit === 0 && exitCode === 0, `container ${inspectedExit}, podman run ${exitCode}${inspectedExit === 137 ? ' (SIGKILL: SIGTERM was not enough)' : ''}`);
    check(`exited within ${SIGTERM_BUDGET_S} s of SIGTERM`, stopMs < SIGTERM_BUDGET_S * 1000, `${seconds(stopMs)} s`);
    const parsed = c.logs.map((line) => {
      try {
        return JSON.parse(line) as { level?: string; message?: string; signal?: string };
      } catch {
        return { level: 'unparsed', message: line };
      }
    });
    check('it logged the SIGTERM and "stopped"', parsed.some((l) => l.message === 'signal received' && l.signal === 'SIGTERM') && parsed.some((l) => l.message === 'stopped'));
    const errors = parsed.filter((l) => l.level === 'error' || l.level === 'unparsed');
    check('no error (and nothing but JSON) in its log', errors.length === 0, errors.length ? errors.slice(0, 3).map((l) => l.message).join(' | ') : `${parsed.length} lines`);
    if (args.includes('--leader-elect')) {
      const holder = (await kubectl(['-n', deploy.namespace, 'get', 'lease', leaseName, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
      check('the lease was released on the way out', holder === '', holder || '(empty)');
    }
  } catch (error) {
    if (interrupted) return;
    if (error instanceof Fatal) {
      if (!error.recorded) check('the run went on to the end', false, error.message);
    } else {
      check('unexpected failure', false, error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    if (container && container.logs.length > 0) {
      say('\n  last lines of the container log:');
      for (const line of container.logs.slice(-30)) say(`  | ${line}`);
    }
  } finally {
    await cleanup();
  }

  const failed = checks.filter((c) => !c.ok);
  step(`${checks.length - failed.length}/${checks.length} checks passed in ${seconds(Date.now() - started)} s (${timings.join(', ')})`);
  if (failed.length > 0) {
    say(`image:smoke: FAILED:\n${failed.map((c) => `  - ${c.name}${c.detail ? `: ${c.detail}` : ''}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`image:smoke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
