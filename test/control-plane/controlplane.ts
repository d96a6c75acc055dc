// A real, local Kubernetes control plane for tests and the demo, started the way controller-runtime's envtest
// starts one: etcd and kube-apiserver on loopback ports, no kubelet, scheduler or controller-manager.
// (No garbage collection and no namespace deletion, hence a fresh namespace per test.)
//
// Everything listens on 127.0.0.1 only. Secure serving with a throw-away CA; the admin is a client certificate
// in O=system:masters; RBAC is the authorizer; ServiceAccount tokens come from the TokenRequest API.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import type { ControlPlaneBinaries } from './build.ts';

const execFileAsync = promisify(execFile);

export interface ControlPlaneOptions {
  readonly binaries: ControlPlaneBinaries;
  /** Start the processes in their own session so they outlive this Node process (cluster:up). */
  readonly detached?: boolean;
  /** Where the admin kubeconfig goes; inside the work dir by default. */
  readonly kubeconfigPath?: string;
  /** Parent of the work dir (PKI, logs, etcd data); a tmpfs (/dev/shm) when there is one. */
  readonly workParent?: string;
  readonly log?: (line: string) => void;
}

/** Everything needed to find, use and stop a running control plane from another process. */
export interface ControlPlaneState {
  readonly version: string;
  readonly etcdVersion: string;
  readonly binaries: ControlPlaneBinaries;
  readonly workDir: string;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly ports: { readonly etcdClient: number; readonly etcdPeer: number; readonly apiserver: number };
  readonly pids: { etcd: number; kubeApiserver: number };
  readonly logs: { readonly etcd: string; readonly kubeApiserver: string };
  readonly startedAt: string;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const READY_TIMEOUT_MS = 60_000; // upstream raised its own start timeout to 60 s after contended CI took ~35 s
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_BYTES = 4096;

/** Start failures caused by a port taken between picking it and binding it; worth one retry with new ports. */
class PortConflict extends Error {}

export class ControlPlane {
  readonly #options: ControlPlaneOptions;
  #state: ControlPlaneState | undefined;
  readonly #children: ChildProcess[] = [];
  #exitHook: (() => void) | undefined;

  constructor(options: ControlPlaneOptions) {
    this.#options = options;
  }

  /** Reattaches to a control plane started by another process (cluster:down, or a demo script). */
  static attach(state: ControlPlaneState): ControlPlane {
    const cp = new ControlPlane({ binaries: state.binaries });
    cp.#state = state;
    return cp;
  }

  get state(): ControlPlaneState {
    if (!this.#state) throw new Error('control plane is not started');
    return this.#state;
  }

  get kubeconfigPath(): string {
    return this.state.kubeconfigPath;
  }

  get server(): string {
    return this.state.server;
  }

  get version(): string {
    return this.#options.binaries.version;
  }

  async start(): Promise<void> {
    if (this.#state) throw new Error('control plane already started');
    try {
      await this.#startOnce();
    } catch (e) {
      if (!(e instanceof PortConflict)) throw e;
      this.#log(`port conflict, retrying once with new ports: ${e.message.split('\n')[0]}`);
      await this.#startOnce();
    }
  }

  async #startOnce(): Promise<void> {
    const bins = this.#options.binaries;
    const workDir = await mkdtemp(join(this.#options.workParent ?? defaultWorkParent(), 'sgrestore-cp-'));
    const [etcdClient, etcdPeer, apiserver] = await freePorts();
    const server = `https://127.0.0.1:${apiserver}`;
    const logs = { etcd: join(workDir, 'etcd.log'), kubeApiserver: join(workDir, 'kube-apiserver.log') };
    const kubeconfigPath = this.#options.kubeconfigPath ?? join(workDir, 'admin.kubeconfig');
    const pids = { etcd: 0, kubeApiserver: 0 };
    const state: ControlPlaneState = {
      version: bins.version,
      etcdVersion: bins.etcdVersion,
      binaries: bins,
      workDir,
      kubeconfigPath,
      server,
      ports: { etcdClient, etcdPeer, apiserver },
      pids,
      logs,
      startedAt: new Date().toISOString(),
    };
    this.#state = state;
    try {
      const pki = join(workDir, 'pki');
      await makePki(pki);
      await writeAdminKubeconfig(kubeconfigPath, server, pki);

      const etcdUrl = `http://127.0.0.1:${etcdClient}`;
      const peerUrl = `http://127.0.0.1:${etcdPeer}`;
      const etcdArgs = [
        '--name=default',
        `--data-dir=${join(workDir, 'etcd')}`,
        '--log-level=warn',
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
      ];
      // Data lives on tmpfs already; skipping fsync as well is what envtest does when etcd offers it.
      if (await etcdSupportsNoFsync(bins.etcd)) etcdArgs.push('--unsafe-no-fsync=true');
      const etcd = this.#spawn(bins.etcd, etcdArgs, logs.etcd);
      pids.etcd = etcd.pid ?? 0;
      await this.#waitFor('etcd /health', READY_TIMEOUT_MS, async () => (await httpGet(`${etcdUrl}/health`)).status === 200);

      const apiserverArgs = [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        // A loopback advertise address: sandboxes without a default route make kube-apiserver exit otherwise,
        // and with it the Endpoints reconciler would reject loopback, so that reconciler is off.
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--secure-port=${apiserver}`,
        `--cert-dir=${pki}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${join(pki, 'sa.key')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        // No ServiceAccount controller runs, so no namespace gets a "default" SA to admit Pods against.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
      ];
      this.#apiserverArgs = apiserverArgs;
      await this.#startApiserver();
      const core = this.kubeConfig().makeApiClient(CoreV1Api);
      await this.#waitFor('namespace default', READY_TIMEOUT_MS, async () => {
        await core.readNamespace({ name: 'default' });
        return true;
      });
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      const tails = `--- etcd log (tail) ---\n${tailOf(logs.etcd)}\n--- kube-apiserver log (tail) ---\n${tailOf(logs.kubeApiserver)}`;
      await this.stop();
      if (/address already in use/.test(tails)) throw new PortConflict(`${detail}\n${tails}`, { cause: e });
      throw new Error(`control plane failed to start: ${detail}\n${tails}`, { cause: e });
    }
  }

  #apiserverArgs: readonly string[] = [];

  async #startApiserver(): Promise<void> {
    const state = this.state;
    const kas = this.#spawn(state.binaries.kubeApiserver, this.#apiserverArgs, state.logs.kubeApiserver);
    state.pids.kubeApiserver = kas.pid ?? 0;
    const ca = readFileSync(join(state.workDir, 'pki', 'ca.crt'));
    await this.#waitFor('kube-apiserver /readyz', READY_TIMEOUT_MS, async () => {
      const r = await httpsGet(`${state.server}/readyz`, ca);
      return r.status === 200 && r.body.trim() === 'ok';
    });
  }

  /**
   * Stops kube-apiserver (SIGTERM, as an upgrade or a crash-looping control plane would) and starts it again on the
   * same port with the same etcd: watches break, clients must relist. Resolves when it is ready again.
   */
  async restartApiserver(): Promise<void> {
    const state = this.state;
    await terminate(state.pids.kubeApiserver, state.binaries.kubeApiserver);
    this.#children.splice(0, this.#children.length, ...this.#children.filter((c) => c.pid !== state.pids.kubeApiserver));
    state.pids.kubeApiserver = 0;
    await this.#startApiserver();
  }

  #spawn(binary: string, args: readonly string[], logPath: string): ChildProcess {
    const fd = openSync(logPath, 'a');
    try {
      const detached = this.#options.detached === true;
      const child = spawn(binary, args, { stdio: ['ignore', fd, fd], detached });
      if (detached) child.unref();
      else {
        this.#children.push(child);
        // Should this process die without stop() (a crash, process.exit), take the children along.
        this.#exitHook ??= (): void => {
          for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        };
        if (this.#children.length === 1) process.on('exit', this.#exitHook);
      }
      child.on('error', (e) => this.#log(`${binary}: ${e.message}`));
      return child;
    } finally {
      closeSync(fd);
    }
  }

  async #waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const died = this.#deadProcess();
      if (died) throw new Error(`${died} exited while waiting for ${what}`);
      try {
        if (await probe()) return;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
      await sleep(200);
    }
  }

  #deadProcess(): string | undefined {
    const state = this.#state;
    if (!state) return undefined;
    if (state.pids.etcd && !isRunning(state.pids.etcd)) return 'etcd';
    if (state.pids.kubeApiserver && !isRunning(state.pids.kubeApiserver)) return 'kube-apiserver';
    return undefined;
  }

  /** SIGTERM, then SIGKILL after 5 s; then removes the work dir (PKI, logs, etcd data) and the kubeconfig. */
  async stop(): Promise<void> {
    const state = this.#state;
    if (!state) return;
    // The apiserver first, so it does not spend its shutdown complaining about a vanished etcd.
    await terminate(state.pids.kubeApiserver, state.binaries.kubeApiserver);
    await terminate(state.pids.etcd, state.binaries.etcd);
    await rm(state.workDir, { recursive: true, force: true });
    await rm(state.kubeconfigPath, { force: true });
    if (this.#exitHook) process.off('exit', this.#exitHook);
    this.#exitHook = undefined;
    this.#children.length = 0;
    this.#state = undefined;
  }

  /** A client-node KubeConfig for the admin (system:masters) user, or for another kubeconfig file. */
  kubeConfig(path: string = this.kubeconfigPath): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return kc;
  }

  /**
   * Runs the kubectl built for this server version (the machine's kubectl tops out at 1.33) against this control
   * plane. Its discovery cache lives in the work dir, so nothing is left under ~/.kube.
   */
  async kubectl(args: readonly string[], options: { kubeconfig?: string; input?: string } = {}): Promise<KubectlResult> {
    const state = this.state;
    const fullArgs = [`--kubeconfig=${options.kubeconfig ?? state.kubeconfigPath}`, `--cache-dir=${join(state.workDir, 'kube-cache')}`, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(state.binaries.kubectl, fullArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      child.stdin.end(options.input ?? '');
    });
  }

  /** Creates a namespace with a unique name. Namespaces are never deleted: nothing here would finalize them. */
  async createNamespace(prefix = 'test'): Promise<string> {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    await this.kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    return name;
  }

  /**
   * Creates the ServiceAccount (if absent), mints a one-hour token for it through the TokenRequest API and
   * writes a kubeconfig that authenticates with that token. Returns the kubeconfig's path.
   */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    try {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    } catch (e) {
      if (statusCodeOf(e) !== 409) throw e;
    }
    const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
    const ca = await readFile(join(this.state.workDir, 'pki', 'ca.crt'));
    const user = `system:serviceaccount:${namespace}:${name}`;
    const path = join(this.state.workDir, `sa-${namespace}-${name}.kubeconfig`);
    await writeKubeconfig(path, { server: this.server, ca, user, namespace, credentials: { token } });
    return path;
  }

  #log(line: string): void {
    (this.#options.log ?? ((l: string) => process.stderr.write(`control-plane: ${l}\n`)))(line);
  }
}

/** The HTTP status behind a client-node ApiException (or undefined for anything else). */
export function statusCodeOf(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number') return e.code;
  return undefined;
}

function defaultWorkParent(): string {
  // etcd on tmpfs: fast, and nothing to clean up on disk after a crash beyond a reboot.
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Three ports the kernel hands out for 127.0.0.1:0, released again; distinct from each other. */
async function freePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 3) {
    ports.add(
      await new Promise<number>((resolve, reject) => {
        const srv = createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const addr = srv.address();
          const port = typeof addr === 'object' && addr ? addr.port : 0;
          srv.close(() => resolve(port));
        });
      }),
    );
  }
  const [a = 0, b = 0, c = 0] = ports;
  return [a, b, c];
}

const noFsyncSupport = new Map<string, boolean>();
async function etcdSupportsNoFsync(etcd: string): Promise<boolean> {
  let known = noFsyncSupport.get(etcd);
  if (known === undefined) {
    // etcd 3.4 prints its help on stderr; newer ones on stdout.
    const r = await execFileAsync(etcd, ['--help'], { maxBuffer: 8 << 20 }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    known = `${r.stdout}${r.stderr}`.includes('--unsafe-no-fsync');
    noFsyncSupport.set(etcd, known);
  }
  return known;
}

/** A process counts as running until it is gone or a zombie (not yet reaped by a parent that is not us). */
export function isRunning(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Whether pid is (still) the given binary, so a recycled pid is never signalled. */
function isProcessOf(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === binary;
  } catch {
    return false;
  }
}

async function terminate(pid: number, binary: string): Promise<void> {
  if (!pid || !isRunning(pid) || !isProcessOf(pid, binary)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isRunning(pid) && Date.now() < deadline) await sleep(50);
  if (isRunning(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isRunning(pid)) await sleep(50);
  }
}

function tailOf(path: string): string {
  try {
    const buf = readFileSync(path);
    return buf.subarray(Math.max(0, buf.length - LOG_TAIL_BYTES)).toString();
  } catch {
    return '(no log)';
  }
}

/** A plain-HTTP GET on loopback with a 2 s timeout (etcd's /health; the operator's probes). */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Anonymous GET trusting only our CA; anonymous auth may read /readyz (system:public-info-viewer). */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr ?? err.message}`, { cause: e });
  }
}

/**
 * A throw-away PKI: one P-256 CA that signs the serving certificate (127.0.0.1 / localhost) and the admin's
 * client certificate (O=system:masters), plus an RSA key that signs and verifies ServiceAccount tokens.
 */
async function makePki(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '365', '-subj', '/CN=sgrestore-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await writeFile(join(dir, 'srv.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  await writeFile(join(dir, 'cli.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  await Promise.all([
    (async (): Promise<void> => {
      await openssl(dir, ['req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
      await openssl(dir, ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x' + randomBytes(8).toString('hex'),
        '-days', '365', '-extfile', 'srv.ext', '-out', 'apiserver.crt']);
    })(),
    (async (): Promise<void> => {
      await openssl(dir, ['req', ...ec, '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/O=system:masters/CN=admin']);
      await openssl(dir, ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x' + randomBytes(8).toString('hex'),
        '-days', '365', '-extfile', 'cli.ext', '-out', 'admin.crt']);
    })(),
    openssl(dir, ['genrsa', '-out', 'sa.key', '2048']),
  ]);
}

async function writeAdminKubeconfig(path: string, server: string, pki: string): Promise<void> {
  const [ca, cert, key] = await Promise.all(['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(pki, f))));
  await writeKubeconfig(path, { server, ca: ca as Buffer, user: 'admin', namespace: 'default', credentials: { cert: cert as Buffer, key: key as Buffer } });
}

async function writeKubeconfig(
  path: string,
  k: { server: string; ca: Buffer; user: string; namespace: string; credentials: { token: string } | { cert: Buffer; key: Buffer } },
): Promise<void> {
  const user =
    'token' in k.credentials
      ? { token: k.credentials.token }
      : { 'client-certificate-data': k.credentials.cert.toString('base64'), 'client-key-data': k.credentials.key.toString('base64') };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'sgrestore-test',
    clusters: [{ name: 'sgrestore-test', cluster: { server: k.server, 'certificate-authority-data': k.ca.toString('base64') } }],
    users: [{ name: k.user, user }],
    contexts: [{ name: 'sgrestore-test', context: { cluster: 'sgrestore-test', user: k.user, namespace: k.namespace } }],
  };
  // Written whole under a temporary name, then renamed: a reader never sees half a kubeconfig.
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(toYaml(config));
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
