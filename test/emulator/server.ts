// The ECS emulator: an HTTP server on 127.0.0.1 that the unchanged SDK (@alicloud/ecs20140526 on
// @alicloud/openapi-core) talks to. Authenticates like the gateway, serves the security-group actions from
// in-memory state, injects faults, and logs every call with the group's rules after it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACTIONS, isMutatingAction } from './actions.ts';
import { badRequest, EcsApiError, errorBody, notFound, serviceUnavailable, throttled } from './errors.ts';
import { FaultInjector } from './faults.ts';
import { buildState, checkSeedShape, readSeedFile } from './seed.ts';
import { NonceCache, parseQuery, V2_COMMON_PARAMS, verifyV2, verifyV3 } from './signature.ts';
import type { Authenticated } from './signature.ts';
import { EmulatorState } from './state.ts';
import type {
  CallRecord,
  EmulatedGroup,
  EmulatedPermission,
  EmulatorCredential,
  EmulatorLimits,
  EmulatorOptions,
  FaultOptions,
  SeedState,
} from './types.ts';

export type {
  CallRecord,
  Direction,
  EmulatedGroup,
  EmulatedPermission,
  EmulatorCredential,
  EmulatorLimits,
  EmulatorOptions,
  FaultKind,
  FaultOptions,
  GroupType,
  SeedGroup,
  SeedPrefixList,
  SeedRegion,
  SeedRule,
  SeedState,
} from './types.ts';
export { SeedError, parseSeedYaml, readSeedFile } from './seed.ts';

export const API_VERSION = '2014-05-26';
export const DEFAULT_ACCOUNT_ID = '1234567890';
export const DEFAULT_CREDENTIALS: ReadonlyArray<EmulatorCredential> = [{ accessKeyId: 'test-ak', accessKeySecret: 'test-secret' }];

const CLIENT_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;

interface IdempotentResult {
  readonly at: number;
  readonly fingerprint: string;
  readonly body: string;
}

type Reply =
  | { readonly kind: 'answer'; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
  | { readonly kind: 'drop' };

interface MutableConfig {
  pageCap: number | undefined;
  identityIncludesPriority: boolean;
  lastPageToken: 'empty' | 'absent';
  limits: EmulatorLimits;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Parameters (without ClientToken) in a stable order: same token + different parameters is a mismatch. */
function fingerprint(params: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(params)
      .filter((k) => k !== 'ClientToken')
      .sort()
      .map((k) => [k, params[k]]),
  );
}

export class EcsEmulator {
  private readonly server: Server;
  private port = 0;
  private state: EmulatorState;
  private credentialList: ReadonlyArray<EmulatorCredential>;
  private readonly defaultCredentials: ReadonlyArray<EmulatorCredential>;
  private readonly defaultAccountId: string;
  private readonly config: MutableConfig;
  private readonly faults: FaultInjector;
  private readonly nonces = new NonceCache();
  private readonly log: CallRecord[] = [];
  private readonly idempotency = new Map<string, IdempotentResult>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopped = false;
  private callSeq = 0;
  private readonly onCall: ((record: CallRecord) => void) | undefined;

  private constructor(options: EmulatorOptions) {
    this.defaultCredentials = (options.credentials ?? DEFAULT_CREDENTIALS).map((c) => ({ ...c }));
    this.defaultAccountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    this.credentialList = this.defaultCredentials;
    this.state = new EmulatorState(this.defaultAccountId);
    this.config = {
      pageCap: options.pageCap,
      identityIncludesPriority: options.identityIncludesPriority ?? false,
      lastPageToken: options.lastPageToken ?? 'empty',
      limits: { ...(options.limits ?? {}) },
    };
    if (options.pageCap !== undefined) this.setPageCap(options.pageCap);
    this.faults = new FaultInjector(options.faults);
    this.onCall = options.onCall;
    // ECS takes 100 Permissions.N entries in the query of one request: far beyond Node's default 16 KiB header limit.
    this.server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        process.stderr.write(`ecs-emulator: unexpected failure: ${(err as Error).stack ?? String(err)}\n`);
        if (!res.headersSent) res.destroy();
      });
    });
    // Longer than any client idle timeout, so a kept-alive socket is never closed under a request.
    this.server.keepAliveTimeout = 65_000;
  }

  static async start(options: EmulatorOptions = {}): Promise<EcsEmulator> {
    const emulator = new EcsEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(options.port ?? 0, '127.0.0.1', () => {
        emulator.server.off('error', reject);
        resolve();
      });
    });
    emulator.port = (emulator.server.address() as AddressInfo).port;
    return emulator;
  }

  /** `127.0.0.1:PORT`: what the SDK's Config.endpoint takes (with protocol 'http'). */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.endpoint}`;
  }

  get credentials(): ReadonlyArray<EmulatorCredential> {
    return this.credentialList.map((c) => ({ ...c }));
  }

  get accountId(): string {
    return this.state.accountId;
  }

  /** Replaces all state (groups, rules, prefix lists; credentials and account id when the seed has them). */
  seed(seed: SeedState): void {
    const checked = checkSeedShape(seed);
    this.state = buildState(checked, checked.accountId ?? this.defaultAccountId);
    this.credentialList = checked.credentials ?? this.defaultCredentials;
    this.idempotency.clear();
  }

  loadSeedFile(path: string): void {
    const seed = readSeedFile(path);
    this.state = buildState(seed, seed.accountId ?? this.defaultAccountId, path);
    this.credentialList = seed.credentials ?? this.defaultCredentials;
    this.idempotency.clear();
  }

  /** Replaces the fault options and restarts their counters. */
  setFaults(faults: FaultOptions): void {
    this.faults.set(faults);
  }

  setIdentityIncludesPriority(on: boolean): void {
    this.config.identityIncludesPriority = on;
  }

  setPageCap(n: number | undefined): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`pageCap must be a positive integer, got ${n}`);
    this.config.pageCap = n;
  }

  setLastPageToken(mode: 'empty' | 'absent'): void {
    this.config.lastPageToken = mode;
  }

  setLimits(limits: EmulatorLimits): void {
    this.config.limits = { ...limits };
  }

  group(regionId: string, groupId: string): EmulatedGroup | undefined {
    const group = this.state.findGroup(regionId, groupId);
    return group ? this.state.toEmulatedGroup(group) : undefined;
  }

  /** Every group (deep copies), in seed order. */
  listGroups(): EmulatedGroup[] {
    return this.state.allGroups().map((g) => this.state.toEmulatedGroup(g));
  }

  /** The group's rules (both directions) in DSGA shape; throws for an unknown group id. */
  rules(groupId: string): EmulatedPermission[] {
    const group = this.state.findGroupAnyRegion(groupId);
    if (!group) throw new Error(`the emulator has no security group ${groupId}`);
    return this.state.permissions(group);
  }

  calls(): readonly CallRecord[] {
    return [...this.log];
  }

  /** Empties the call log; the next call gets seq 1. */
  clearCalls(): void {
    this.log.length = 0;
    this.callSeq = 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away while sending: nothing to answer, nothing to log
    }
    const latency = this.faults.latencyMs;
    if (latency > 0) await this.sleep(latency);
    if (this.stopped) {
      req.socket.destroy();
      return;
    }
    // From here on everything is synchronous: the call log order is the order calls touched the state.
    const requestId = randomUUID().toUpperCase();
    const now = new Date();
    const record: CallRecord = {
      seq: 0,
      time: now.toISOString(),
      action: '',
      params: {},
      status: 0,
      requestId,
      mutating: false,
      applied: false,
      changed: false,
    };
    let reply: Reply;
    try {
      reply = this.serve(req, body, record, now);
    } catch (err) {
      const apiError = err instanceof EcsApiError ? err : new EcsApiError(500, 'InternalError', 'The request processing has failed due to some unknown error.');
      if (!(err instanceof EcsApiError)) process.stderr.write(`ecs-emulator: internal error: ${(err as Error).stack ?? String(err)}\n`);
      const regionId = record.params['RegionId'];
      const hostId = regionId ? `ecs.${regionId}.aliyuncs.com` : 'ecs.aliyuncs.com';
      reply = { kind: 'answer', status: apiError.status, headers: { ...apiError.headers }, body: JSON.stringify(errorBody(apiError, requestId, hostId)) };
      record.code = apiError.code;
    }
    record.status = reply.kind === 'drop' ? 0 : reply.status;
    if (record.mutating) this.attachRulesAfter(record);
    this.callSeq += 1;
    record.seq = this.callSeq;
    this.log.push(record);
    this.onCall?.(record);
    if (reply.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, {
      'content-type': 'application/json;charset=utf-8',
      'x-acs-request-id': requestId,
      ...reply.headers,
    });
    res.end(reply.body);
  }

  /** Routes, authenticates, injects faults, replays or executes. Fills `record`; throws EcsApiError for error answers. */
  private serve(req: IncomingMessage, body: Buffer, record: CallRecord, now: Date): Reply {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
    const method = (req.method ?? 'GET').toUpperCase();
    const authorization = headerValue(req, 'authorization');
    const contentType = headerValue(req, 'content-type') ?? '';
    const form = contentType.startsWith('application/x-www-form-urlencoded') ? parseQuery(body.toString('utf8')) : {};
    const isV2 = (authorization === undefined || authorization === '') && ('Signature' in query || 'Signature' in form);

    let action: string;
    let version: string;
    let params: Record<string, string>;
    let v2Params: Record<string, string> = {};
    if (isV2) {
      v2Params = { ...query, ...form };
      action = v2Params['Action'] ?? '';
      version = v2Params['Version'] ?? '';
      params = Object.fromEntries(Object.entries(v2Params).filter(([k]) => !V2_COMMON_PARAMS.has(k)));
    } else {
      action = headerValue(req, 'x-acs-action') ?? '';
      version = headerValue(req, 'x-acs-version') ?? '';
      params = query;
    }
    record.action = action;
    record.params = { ...params };
    if (params['ClientToken'] !== undefined) record.clientToken = params['ClientToken'];
    record.mutating = isMutatingAction(action);

    if (action === '') throw badRequest('MissingParameter.Action', 'The input parameter "Action" that is mandatory for processing this request is not supplied.');
    if (version !== API_VERSION) {
      throw badRequest('InvalidVersion', `Specified parameter Version "${version}" is not valid; this endpoint serves ECS ${API_VERSION}.`);
    }
    const spec = ACTIONS[action];
    if (!spec || path !== '/') throw notFound('InvalidApi.NotFound', 'Specified api is not found, please check your url and method.');

    const auth: Authenticated = isV2
      ? verifyV2(method, v2Params, this.credentialList, this.nonces, now.getTime())
      : verifyV3({ method, path, query, headers: req.headers, body }, this.credentialList, this.nonces, now.getTime());
    record.accessKeyId = auth.accessKeyId;

    const decision = this.faults.decide(spec.mutating);
    switch (decision.before) {
      case 'drop':
        record.fault = 'drop';
        return { kind: 'drop' };
      case 'rateLimit':
      case 'throttle':
        record.fault = decision.before;
        throw throttled(decision.retryAfterMs);
      case 'error':
        record.fault = 'error';
        throw serviceUnavailable();
      case undefined:
        break;
    }

    const clientToken = params['ClientToken'];
    let tokenKey: string | undefined;
    if (spec.mutating && clientToken !== undefined && clientToken !== '') {
      if (clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken)) {
        throw badRequest('InvalidClientToken.Malformed', 'The specified ClientToken is malformed: at most 64 ASCII characters.');
      }
      tokenKey = `${action}\n${clientToken}`;
      const earlier = this.idempotency.get(tokenKey);
      if (earlier && now.getTime() - earlier.at <= CLIENT_TOKEN_TTL_MS) {
        if (earlier.fingerprint !== fingerprint(params)) {
          throw badRequest('IdempotentParameterMismatch', 'The request uses the same ClientToken as a previous, but non-identical request.');
        }
        record.replay = true;
        return { kind: 'answer', status: 200, headers: {}, body: earlier.body };
      }
    }

    const outcome = spec.handle({ state: this.state, params, config: this.config, requestId: record.requestId, now });
    record.applied = true;
    record.changed = outcome.changed;
    const responseBody = JSON.stringify(outcome.body);
    if (tokenKey !== undefined) this.idempotency.set(tokenKey, { at: now.getTime(), fingerprint: fingerprint(params), body: responseBody });
    if (decision.applyThenDrop) {
      record.fault = 'applyThenDrop';
      return { kind: 'drop' };
    }
    return { kind: 'answer', status: 200, headers: {}, body: responseBody };
  }

  private attachRulesAfter(record: CallRecord): void {
    const regionId = record.params['RegionId'] ?? '';
    const groupId = record.params['SecurityGroupId'] ?? '';
    const group = this.state.findGroup(regionId, groupId);
    if (group) record.rulesAfter = { [group.id]: this.state.permissions(group) };
  }
}
