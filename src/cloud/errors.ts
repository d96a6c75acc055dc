// The one error type of the cloud boundary: every SDK or transport failure becomes a CloudError carrying the ECS code,
// HTTP status and RequestId, and a classification the retry and batch-splitting logic decides on.

export type CloudErrorKind =
  /** Throttling*, 5xx, timeouts, dropped connections: the same call may succeed later. */
  | 'transient'
  /** Credentials, permissions, a missing group, a quota: no other call will do better; stop. */
  | 'fatal'
  /** The request was refused for its content (a bad rule in a batch): another batch may succeed. */
  | 'rejected';

export class CloudError extends Error {
  override readonly name = 'CloudError';
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly requestId: string | undefined;
  readonly action: string;
  readonly kind: CloudErrorKind;
  /** Milliseconds the server asked us to wait (header x-acs-retry-after), if any. */
  readonly retryAfterMs: number | undefined;

  constructor(init: { action: string; code: string; message: string; statusCode?: number; requestId?: string; kind: CloudErrorKind; retryAfterMs?: number }) {
    super(init.message);
    this.action = init.action;
    this.code = init.code;
    this.statusCode = init.statusCode;
    this.requestId = init.requestId;
    this.kind = init.kind;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** `Code (HTTP 400, RequestId ABC…): message` — what a person needs to look the failure up. */
  describe(): string {
    const where = [this.statusCode !== undefined ? `HTTP ${this.statusCode}` : undefined, this.requestId ? `RequestId ${this.requestId}` : undefined]
      .filter(Boolean)
      .join(', ');
    return `${this.action} failed: ${this.code}${where ? ` (${where})` : ''}: ${this.message}`;
  }
}

/** Codes after which nothing else should be tried: wrong credentials, no permission, a group that is gone, a quota. */
const FATAL_CODE_PREFIXES = [
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidTimeStamp',
  'InvalidSecurityToken',
  'InvalidCredentials',
  'Forbidden',
  'NoPermission',
  'InvalidSecurityGroupId.NotFound',
  'InvalidSecurityGroupId.Malformed',
  'InvalidRegionId',
  'MissingParameter.RegionId',
  'InvalidApi.NotFound',
  'AuthorizationLimitExceed',
  'InvalidOperation.ResourceManagedByCloudProduct',
  'InvalidOperation.SecurityGroupNotAuthorized',
];

const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ECONNABORTED']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  message?: unknown;
  retryAfter?: unknown;
  data?: unknown;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'undefined' ? value : undefined;
}

/** Maps whatever the SDK or the network threw into a CloudError. */
export function toCloudError(action: string, error: unknown): CloudError {
  if (error instanceof CloudError) return error;
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as SdkErrorShape;
  const name = asString(e.name) ?? 'Error';
  const statusCode = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
  const rawText = asString(e.message) ?? '';
  // @alicloud/credentials throws a plain Error when no provider in the default chain has credentials.
  const credentialsMissing = statusCode === undefined && /unable to get credentials/i.test(rawText);
  const code = asString(data.Code) ?? asString(e.code) ?? (credentialsMissing ? 'CredentialsUnavailable' : name);
  const requestId = asString(e.requestId) ?? asString(data.RequestId);
  const serverMessage = asString(data.Message);
  const rawMessage = rawText || code;
  const retryAfterMs = typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter : undefined;

  let kind: CloudErrorKind;
  if (code.includes('Throttling') || name === 'ThrottlingError') kind = 'transient';
  else if (statusCode !== undefined && statusCode >= 500) kind = 'transient';
  else if (credentialsMissing) kind = 'fatal';
  else if (statusCode === undefined) {
    // No HTTP answer: a timeout, a reset or a refused connection. A non-HTTP programming error is fatal.
    const transport = name.includes('Timeout') || TRANSIENT_NETWORK_CODES.has(code) || /socket hang up|ECONNRESET|timeout|closed|terminated/i.test(rawMessage);
    kind = transport ? 'transient' : 'fatal';
  } else if (FATAL_CODE_PREFIXES.some((prefix) => code === prefix || code.startsWith(`${prefix}.`))) kind = 'fatal';
  else kind = 'rejected';

  // httpx appends "POST http://…/?query failed." to the transport error's text without a separator.
  const message = serverMessage ?? rawMessage.replace(/(\S)((?:POST|GET) https?:\/\/\S+) failed\.?$/, '$1 ($2 failed)');
  return new CloudError({ action, code, message, kind, ...(statusCode !== undefined && { statusCode }), ...(requestId !== undefined && { requestId }), ...(retryAfterMs !== undefined && { retryAfterMs }) });
}
