// Builds the test control plane's binaries — kube-apiserver and kubectl from the Go module k8s.io/kubernetes,
// etcd from go.etcd.io/etcd/server/v3 — through the Go module proxy, into a cache keyed by version that lives
// outside the clone (CI runs in a fresh clone each time; a cache inside it would be rebuilt on every run).
//
//   npm run cluster:build                         # build, or reuse what is cached
//   K8S_VERSION=1.36.3 ETCD_VERSION=3.6.8 npm run cluster:build
//
// `go install pkg@version` cannot build either module: both use replace directives (Kubernetes maps every
// staging module k8s.io/* at the non-existent v0.0.0 to ./staging/src/...). So each build happens in a
// throw-away wrapper module that replaces every staging module with its published v0.X.Y tag, read from the
// release's own go.mod so the list follows each release. See ../shared/reference/test-control-plane.md §3–4.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Newest Kubernetes release that builds with the installed Go (1.26.8), and the newest patch of the etcd minor
 * that release's client uses (k8s.io/kubernetes v1.37.2 requires go.etcd.io/etcd/client/v3 v3.7.0). */
export const DEFAULT_K8S_VERSION = '1.37.2';
export const DEFAULT_ETCD_VERSION = '3.7.4';

export interface ControlPlaneBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
  /** Kubernetes version without the leading v, e.g. "1.37.2". */
  readonly version: string;
  readonly etcdVersion: string;
  readonly dir: string;
}

export interface EnsureOptions {
  /** Where progress goes; stderr by default. */
  readonly log?: (line: string) => void;
}

const log0 = (line: string): void => {
  process.stderr.write(`cluster:build: ${line}\n`);
};

/** `${SGRESTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sgrestore}` */
export function cacheRoot(): string {
  const explicit = process.env['SGRESTORE_CACHE_DIR'];
  if (explicit) return explicit;
  const xdg = process.env['XDG_CACHE_HOME'] || join(process.env['HOME'] ?? tmpdir(), '.cache');
  return join(xdg, 'sgrestore');
}

function stripV(version: string): string {
  return version.trim().replace(/^v/, '');
}

export function pinnedVersions(): { readonly k8s: string; readonly etcd: string } {
  const k8s = stripV(process.env['K8S_VERSION'] || DEFAULT_K8S_VERSION);
  const etcd = stripV(process.env['ETCD_VERSION'] || DEFAULT_ETCD_VERSION);
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(k8s)) throw new Error(`K8S_VERSION must look like 1.37.2, got ${k8s}`);
  if (!/^3\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(etcd)) throw new Error(`ETCD_VERSION must look like 3.7.4, got ${etcd}`);
  return { k8s, etcd };
}

export function binaryDir(k8s: string, etcd: string): string {
  return join(cacheRoot(), 'control-plane', `v${k8s}-etcd${etcd}`);
}

function goBinary(): string {
  if (process.env['GO']) return process.env['GO'];
  const onPath = (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, 'go')));
  if (onPath) return 'go';
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('no Go toolchain: put go on PATH, or set GO=/path/to/go');
}

/** go processes in flight, so an interrupted cluster:build can stop them and still clean up after itself. */
const inFlight = new Set<ChildProcess>();
let interrupted = false;

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, capturing output. */
function capture(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

async function must(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  if (interrupted) throw new Error('interrupted');
  const r = await capture(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Runs `go build -v` (or `go get`), streaming go's own output except the `-v` package names, which are counted
 * instead, and prints an elapsed-time line every 30 s so a long cold build is visibly alive.
 */
function goStreaming(
  what: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; totalPackages?: number; log: (line: string) => void },
): Promise<void> {
  const started = Date.now();
  const verbose = process.env['SGRESTORE_BUILD_VERBOSE'] === '1';
  let compiled = 0;
  let added = 0;
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    if (interrupted) {
      reject(new Error('interrupted'));
      return;
    }
    const child = spawn(goBinary(), args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'inherit', 'pipe'] });
    inFlight.add(child);
    const tick = setInterval(() => {
      const of = opts.totalPackages ? `/${opts.totalPackages}` : '';
      const progress = args[0] === 'build' ? `, ${compiled}${of} packages compiled` : '';
      opts.log(`${what}: ${formatElapsed(Date.now() - started)} elapsed${progress}`);
    }, 30_000);
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      // `go build -v` names each package as it is built: a bare import path, no spaces.
      if (args[0] === 'build' && /^[\w.~-]+(\/[\w.~+-]+)*$/.test(line)) {
        compiled++;
        if (!verbose) return;
      }
      // `go get` lists every module it adds to the wrapper's go.mod: hundreds of lines that say nothing new.
      if (args[0] === 'get' && line.startsWith('go: added ')) {
        added++;
        if (!verbose) return;
      }
      tail.push(line);
      if (tail.length > 40) tail.shift();
      process.stderr.write(`${line}\n`);
    });
    child.on('error', (e) => {
      clearInterval(tick);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearInterval(tick);
      inFlight.delete(child);
      if (code === 0) {
        const summary = args[0] === 'get' ? ` (${added} modules in the wrapper's go.mod)` : args[0] === 'build' ? ` (${compiled} packages compiled)` : '';
        opts.log(`${what}: done in ${formatElapsed(Date.now() - started)}${summary}`);
        resolve();
      } else {
        const how = signal ? `go stopped by ${signal}` : `go exit ${code}`;
        reject(new Error(`${what} failed (${how})${tail.length ? `; go's last lines:\n${tail.join('\n')}` : ''}`));
      }
    });
  });
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: '0', // static binaries, as upstream releases them; no gcc needed
    GOTOOLCHAIN: process.env['GOTOOLCHAIN'] || 'local', // fail fast rather than fetch a toolchain silently
    GOFLAGS: '-mod=mod', // let go build add any go.sum line that go get did not record
    GOWORK: 'off',
  };
}

async function versionOf(binary: string, args: readonly string[]): Promise<string | undefined> {
  if (!existsSync(binary)) return undefined;
  try {
    const r = await capture(binary, args);
    return r.code === 0 ? (r.stdout + r.stderr).trim() : undefined;
  } catch {
    return undefined;
  }
}

const versionArgs = {
  kubeApiserver: ['--version'],
  kubectl: ['version', '--client'],
  etcd: ['--version'],
} as const;

/** What each binary must print for the cached copy to count. */
function expectedVersion(k8s: string, etcd: string): { kubeApiserver: RegExp; kubectl: RegExp; etcd: RegExp } {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    kubeApiserver: new RegExp(`^Kubernetes v${esc(k8s)}$`, 'm'),
    kubectl: new RegExp(`^Client Version: v${esc(k8s)}$`, 'm'),
    etcd: new RegExp(`^etcd Version: ${esc(etcd)}$`, 'm'),
  };
}

async function cachedStatus(dir: string, k8s: string, etcd: string): Promise<{ apiserverOk: boolean; kubectlOk: boolean; etcdOk: boolean; versions: string[] }> {
  const want = expectedVersion(k8s, etcd);
  const [a, c, e] = await Promise.all([
    versionOf(join(dir, 'kube-apiserver'), versionArgs.kubeApiserver),
    versionOf(join(dir, 'kubectl'), versionArgs.kubectl),
    versionOf(join(dir, 'etcd'), versionArgs.etcd),
  ]);
  return {
    apiserverOk: a !== undefined && want.kubeApiserver.test(a),
    kubectlOk: c !== undefined && want.kubectl.test(c),
    etcdOk: e !== undefined && want.etcd.test(e),
    versions: [a, c, e].map((v) => (v ?? '(missing)').split('\n').slice(0, 2).join('; ')),
  };
}

/** One build per version directory at a time: a second caller (CI step, mocha fixture) waits for the first. */
async function withLock<T>(dir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dir, '.build.lock');
  const waitStarted = Date.now();
  let lastNotice = 0;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        await rm(lockPath, { force: true }); // left by a build that was killed
        continue;
      }
      if (Date.now() - lastNotice > 30_000) {
        lastNotice = Date.now();
        log(`waiting for the build in process ${holder} (${formatElapsed(Date.now() - waitStarted)})`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildKubernetes(k8s: string, partial: string, log: (line: string) => void): Promise<void> {
  const go = goBinary();
  const env = goEnv();
  const minor = k8s.split('.')[1] ?? '';
  const stagingTag = `v0.${k8s.slice(2)}`; // Kubernetes v1.X.Y publishes its staging modules as v0.X.Y
  const w = await mkdtemp(join(tmpdir(), 'sgrestore-k8s-wrapper-'));
  try {
    await must(go, ['mod', 'init', 'local/k8s-test-bins'], { cwd: w, env });
    log(`kubernetes v${k8s}: reading the release's go.mod through the module proxy`);
    const info = JSON.parse(await must(go, ['mod', 'download', '-json', `k8s.io/kubernetes@v${k8s}`], { cwd: w, env })) as { GoMod?: string; Error?: string };
    if (!info.GoMod) throw new Error(`go mod download k8s.io/kubernetes@v${k8s}: ${info.Error ?? 'no go.mod'}`);
    const gomod = await readFile(info.GoMod, 'utf8');
    // Keep upstream's GODEBUG defaults; otherwise the wrapper's own go line would choose newer ones.
    const godebug = /^godebug default=(\S+)/m.exec(gomod)?.[1];
    const edits: string[] = godebug ? [`-godebug=default=${godebug}`] : [];
    const staging = [...new Set([...gomod.matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\/src\//gm)].map((m) => m[1]))].sort();
    if (staging.length === 0) throw new Error(`k8s.io/kubernetes@v${k8s} go.mod has no staging replaces; the recipe no longer fits`);
    for (const m of staging) edits.push(`-replace=${m}=${m}@${stagingTag}`);
    await must(go, ['mod', 'edit', ...edits], { cwd: w, env });
    log(`kubernetes v${k8s}: ${staging.length} staging modules pinned at ${stagingTag}${godebug ? `, godebug default=${godebug}` : ''}`);

    const pkgs = ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kubectl'];
    await goStreaming(`kubernetes v${k8s}: go get`, ['get', ...pkgs.map((p) => `${p}@v${k8s}`)], { cwd: w, env, log });
    const tags = 'selinux,notest,grpcnotrace';
    const total = (await must(go, ['list', '-deps', '-tags', tags, ...pkgs], { cwd: w, env })).split('\n').filter(Boolean).length;

    // Without these, /version reports v0.0.0-master+$Format:%H$ and `kubectl version` cannot parse it.
    const buildDate = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const ldflags = ['-s', '-w'];
    for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      ldflags.push(
        `-X ${p}.gitVersion=v${k8s}`,
        `-X ${p}.gitMajor=1`,
        `-X ${p}.gitMinor=${minor}`,
        `-X ${p}.gitTreeState=clean`,
        `-X ${p}.buildDate=${buildDate}`,
      );
    }
    // One go build for both binaries: they share most packages, and -o <dir>/ writes each under its own name.
    await goStreaming(
      `kube-apiserver + kubectl v${k8s}: go build`,
      ['build', '-v', '-trimpath', '-tags', tags, '-ldflags', ldflags.join(' '), '-o', `${partial}/`, ...pkgs],
      { cwd: w, env, totalPackages: total, log },
    );
  } finally {
    await rm(w, { recursive: true, force: true });
  }
}

async function buildEtcd(etcd: string, partial: string, log: (line: string) => void): Promise<void> {
  const go = goBinary();
  const env = goEnv();
  const w = await mkdtemp(join(tmpdir(), 'sgrestore-etcd-wrapper-'));
  try {
    await must(go, ['mod', 'init', 'local/etcd-bin'], { cwd: w, env });
    // The main package is the module root; go get pulls api/client/pkg at the same published version.
    const pkg = 'go.etcd.io/etcd/server/v3';
    await goStreaming(`etcd v${etcd}: go get`, ['get', `${pkg}@v${etcd}`], { cwd: w, env, log });
    const total = (await must(go, ['list', '-deps', pkg], { cwd: w, env })).split('\n').filter(Boolean).length;
    await goStreaming(
      `etcd v${etcd}: go build`,
      ['build', '-v', '-trimpath', '-ldflags', `-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-v${etcd}`, '-o', join(partial, 'etcd'), pkg],
      { cwd: w, env, totalPackages: total, log },
    );
  } finally {
    await rm(w, { recursive: true, force: true });
  }
}

/**
 * Returns the paths of kube-apiserver, etcd and kubectl at the pinned versions, building whatever is missing or
 * reports the wrong version. Binaries are built into a temporary directory next to the final one and renamed
 * into place, so an interrupted build never leaves a half-written binary under the final name.
 */
export async function ensureBinaries(options: EnsureOptions = {}): Promise<ControlPlaneBinaries> {
  const log = options.log ?? log0;
  const { k8s, etcd } = pinnedVersions();
  const dir = binaryDir(k8s, etcd);
  const result: ControlPlaneBinaries = {
    kubeApiserver: join(dir, 'kube-apiserver'),
    etcd: join(dir, 'etcd'),
    kubectl: join(dir, 'kubectl'),
    version: k8s,
    etcdVersion: etcd,
    dir,
  };
  const before = await cachedStatus(dir, k8s, etcd);
  if (before.apiserverOk && before.kubectlOk && before.etcdOk) return result;

  await mkdir(dir, { recursive: true });
  await withLock(dir, log, async () => {
    // Another process may have finished the build while we waited for the lock.
    const now = await cachedStatus(dir, k8s, etcd);
    if (now.apiserverOk && now.kubectlOk && now.etcdOk) return;
    for (const entry of await readdir(dir)) {
      if (entry.startsWith('.partial-')) await rm(join(dir, entry), { recursive: true, force: true });
    }
    const started = Date.now();
    const partial = await mkdtemp(join(dir, '.partial-'));
    try {
      log(`building into ${dir} (Go: ${(await must(goBinary(), ['version'])).trim()})`);
      if (!now.apiserverOk || !now.kubectlOk) {
        await buildKubernetes(k8s, partial, log);
        await rename(join(partial, 'kube-apiserver'), result.kubeApiserver);
        await rename(join(partial, 'kubectl'), result.kubectl);
      }
      if (!now.etcdOk) {
        await buildEtcd(etcd, partial, log);
        await rename(join(partial, 'etcd'), result.etcd);
      }
      log(`built in ${formatElapsed(Date.now() - started)}`);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  });
  const after = await cachedStatus(dir, k8s, etcd);
  if (!(after.apiserverOk && after.kubectlOk && after.etcdOk)) {
    throw new Error(`built binaries report unexpected versions (wanted Kubernetes v${k8s}, etcd ${etcd}):\n${after.versions.join('\n')}`);
  }
  return result;
}

async function main(): Promise<void> {
  const started = Date.now();
  // On Ctrl-C or SIGTERM, stop go and let the finally blocks remove the wrapper modules, the partial output and
  // the lock, instead of dying on the spot.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log0(`${signal}: stopping the build`);
      process.exitCode = 130;
      interrupted = true;
      for (const child of inFlight) child.kill('SIGTERM');
    });
  }
  const bins = await ensureBinaries();
  const status = await cachedStatus(bins.dir, bins.version, bins.etcdVersion);
  const sizes = await Promise.all([bins.kubeApiserver, bins.kubectl, bins.etcd].map(async (p) => `${Math.round((await stat(p)).size / 1e6)} MB`));
  const names = ['kube-apiserver --version', 'kubectl version --client', 'etcd --version'];
  for (const [i, v] of status.versions.entries()) log0(`${names[i]}: ${v} (${sizes[i]})`);
  log0(`binaries in ${bins.dir} (ready in ${formatElapsed(Date.now() - started)})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`cluster:build: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = interrupted ? 130 : 1;
  });
}
