// Mocha global fixture (registered through .mocharc.json "require"): one control plane per test run, started
// lazily by the first integration test that asks for it, and stopped when the run ends. A run of unit tests
// never calls sharedControlPlane(), so it starts nothing and does not even load the Kubernetes client.
import type { ControlPlane } from './controlplane.ts';

let shared: Promise<ControlPlane> | undefined;
let started: ControlPlane | undefined;

export function sharedControlPlane(): Promise<ControlPlane> {
  shared ??= (async (): Promise<ControlPlane> => {
    const [{ ensureBinaries }, { ControlPlane }] = await Promise.all([import('./build.ts'), import('./controlplane.ts')]);
    const cp = new ControlPlane({ binaries: await ensureBinaries() });
    started = cp;
    await cp.start(); // on failure start() has already stopped what it started
    return cp;
  })();
  return shared;
}

export async function mochaGlobalTeardown(): Promise<void> {
  await started?.stop();
  started = undefined;
  shared = undefined;
}
