// The operator as the benchmarks run it: by default compiled the way the image runs it (tsc -p tsconfig.build.json,
// then `node dist/src/cli/entry.js run`), into a temporary directory so the tree's dist/ is left alone; or from
// source (`BENCH_OPERATOR=source`, Node's type stripping, as the tests run it). The process handling is the tests'
// startOperator (test/integration/support/operator.ts) with a choice of entry point and Node flags.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { superviseOperator } from '../../test/integration/support/operator.ts';
import type { OperatorProcess } from '../../test/integration/support/operator.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_ENTRY = join(ROOT, 'src/cli/entry.ts');

export interface OperatorBuild {
  /** The file `node` runs with `run ...`. */
  readonly entry: string;
  /** 'compiled' (as in the image) or 'source'. */
  readonly kind: 'compiled' | 'source';
  cleanup(): Promise<void>;
}

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

/** Compiles src/ as `npm run build` does, but into a temporary directory (removed by cleanup()). */
export async function buildOperator(kind: 'compiled' | 'source' = process.env.BENCH_OPERATOR === 'source' ? 'source' : 'compiled'): Promise<OperatorBuild> {
  if (kind === 'source') return { entry: SOURCE_ENTRY, kind, cleanup: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), 'sgrestore-bench-dist-'));
  try {
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir]);
    // dist/src/... resolves its packages from the tree's node_modules, as /app/node_modules in the image.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { entry: join(dir, 'src/cli/entry.js'), kind, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function spawnOperator(options: { entry: string; kubeconfig: string; ecsEndpoint: string; args?: readonly string[]; nodeArgs?: readonly string[] }): OperatorProcess {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.entry,
      'run',
      `--kubeconfig=${options.kubeconfig}`,
      `--ecs-endpoint=${options.ecsEndpoint}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--shutdown-grace-period=10s',
      ...(options.args ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what the operator needs: no NODE_OPTIONS of the benchmark's own process, no developer credentials.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
        ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
        ALIBABA_CLOUD_CREDENTIALS_FILE: '/nonexistent/sgrestore-bench',
        NODE_ENV: 'production',
      },
    },
  );
  return superviseOperator(child, {
    // Keep what the benchmark looks for and the warnings; an operator applying thousands of restores logs a lot.
    keep: (line, logs) => logs.length < 2000 || /"level":"(warn|error)"/.test(line),
    echo: Boolean(process.env.BENCH_OPERATOR_LOGS),
  });
}
