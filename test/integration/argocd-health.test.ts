// The Argo CD health check (docs/argocd/health.lua) run by a real Lua interpreter against the cases of
// docs/argocd/health_test.yaml, the way Argo CD's own resource_customizations tests run theirs: each case's object
// becomes the global `obj`, the script's returned table is compared with the expected status and message.
//
// Argo CD runs gopher-lua, a Lua 5.1; Debian's `lua5.1` package is the closest interpreter (newer ones are tried
// when it is missing). Without any, the tests are skipped and say so.
import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ARGOCD_DIR = fileURLToPath(new URL('../../docs/argocd/', import.meta.url));
const SCRIPT = join(ARGOCD_DIR, 'health.lua');
const LUA_CANDIDATES = ['lua5.1', 'lua', 'lua5.4', 'lua5.3'];

interface HealthCase {
  readonly inputPath: string;
  readonly healthStatus: { readonly status: string; readonly message: string };
}

/** The first Lua interpreter on PATH, or undefined. */
function findLua(): string | undefined {
  return LUA_CANDIDATES.find((bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0);
}

/** A Lua 5.1 string literal: printable ASCII as is, quotes and backslashes escaped, other bytes as \ddd. */
function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte}`;
  }
  return `${out}"`;
}

/** A parsed YAML value as a Lua table constructor, as Argo CD hands objects to Lua (arrays are 1-based tables). */
function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaValue).join(', ')}}`;
  if (typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${luaValue(v)}`);
    return `{${fields.join(', ')}}`;
  }
  throw new Error(`cannot hand ${typeof value} to Lua`);
}

/** Runs health.lua with `obj` set; returns the status and message it returned. */
async function runHealthCheck(lua: string, workDir: string, object: unknown): Promise<{ status: string; message: string }> {
  const harness = join(workDir, 'harness.lua');
  await writeFile(
    harness,
    [
      `obj = ${luaValue(object)}`,
      `local hs = dofile(${luaString(SCRIPT)})`,
      // One line each; the message may hold anything but a newline, which a health message should not have.
      'io.write(tostring(hs.status), "\\n", tostring(hs.message), "\\n")',
    ].join('\n'),
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(lua, [harness], (error, out, err) => (error ? reject(new Error(`${lua} failed: ${err || error.message}`)) : resolve(out)));
  });
  const [status = '', message = ''] = stdout.replace(/\n$/, '').split('\n');
  return { status, message };
}

describe('the Argo CD health check for SecurityGroupRestore', function () {
  const lua = findLua();
  let workDir: string;
  const cases = (parseYaml(readFileSync(join(ARGOCD_DIR, 'health_test.yaml'), 'utf8')) as { tests: HealthCase[] }).tests;

  before(async function () {
    if (!lua) {
      console.warn(`    skipped: no Lua interpreter on PATH (tried ${LUA_CANDIDATES.join(', ')}); apt-get install lua5.1`);
      this.skip();
    }
    workDir = await mkdtemp(join(tmpdir(), 'sgrestore-argocd-health-'));
  });

  after(async function () {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('has a case for every status the check can return', function () {
    const statuses = new Set(cases.map((c) => c.healthStatus.status));
    expect([...statuses].sort()).to.deep.equal(['Degraded', 'Healthy', 'Progressing', 'Suspended']);
  });

  for (const testCase of cases) {
    const situation = basename(testCase.inputPath, '.yaml').replace(/-/g, ' ');
    it(`reports ${testCase.healthStatus.status} with the expected message when the restore is ${situation}`, async function () {
      const object: unknown = parseYaml(await readFile(join(ARGOCD_DIR, testCase.inputPath), 'utf8'));
      const got = await runHealthCheck(lua as string, workDir, object);
      expect(got).to.deep.equal(testCase.healthStatus);
    });
  }
});
