// Request authentication as the ECS gateway does it: ACS3-HMAC-SHA256 (what SDK 7.x sends, ecs-api.md §7.2)
// and the older V2 HMAC-SHA1 RPC signature (§7.3).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { EcsApiError } from './errors.ts';
import { badRequest, notFound } from './errors.ts';
import type { EmulatorCredential } from './types.ts';

export interface SignedRequest {
  readonly method: string;
  /** Path without the query, as received. */
  readonly path: string;
  /** Decoded query parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface Authenticated {
  readonly accessKeyId: string;
}

/** Clock skew the gateway tolerates (InvalidTimeStamp.Expired beyond it). */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** encodeURIComponent plus `!'()*`, as the SDK's canonical query uses. */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decodes `a=1&b=x%20y` without turning `+` into a space (the SDK never sends `+` for a space). */
export function parseQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let val: string;
    try {
      key = decodeURIComponent(k);
      val = decodeURIComponent(v);
    } catch {
      throw badRequest('InvalidParameter', `The query parameter "${k}" is not correctly percent-encoded.`);
    }
    out[key] = val;
  }
  return out;
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function incomplete(message: string): EcsApiError {
  return badRequest('IncompleteSignature', message);
}

function signatureMismatch(): EcsApiError {
  return badRequest('SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkTimestamp(text: string | undefined, name: string, now: number): void {
  if (text === undefined || text === '') throw badRequest('MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw badRequest('InvalidTimeStamp.Format', `Specified time stamp or date value is not well formatted: ${name}=${text}.`);
  }
  if (Math.abs(now - Date.parse(text)) > MAX_SKEW_MS) {
    throw badRequest('InvalidTimeStamp.Expired', `Specified time stamp or date value is expired: ${name}=${text}.`);
  }
}

function findCredential(credentials: ReadonlyArray<EmulatorCredential>, accessKeyId: string): EmulatorCredential {
  const credential = credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!credential) throw notFound('InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  return credential;
}

function checkSecurityToken(credential: EmulatorCredential, token: string | undefined): void {
  const expected = credential.securityToken ?? '';
  const got = token ?? '';
  if (expected === '' && got === '') return;
  if (expected === '' || got === '' || !safeEqual(expected, got)) {
    throw badRequest('InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken does not match the AccessKeyId.');
  }
}

/** Remembers signature nonces for the skew window: a replayed signed request is refused. */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  /** False when the nonce was already used within the window. */
  use(nonce: string, now: number): boolean {
    if (this.seen.size > 10_000) {
      for (const [n, at] of this.seen) if (now - at > MAX_SKEW_MS) this.seen.delete(n);
    }
    const at = this.seen.get(nonce);
    if (at !== undefined && now - at <= MAX_SKEW_MS) return false;
    this.seen.set(nonce, now);
    return true;
  }

  clear(): void {
    this.seen.clear();
  }
}

const REQUIRED_SIGNED_HEADERS = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];

/** The canonical request of ACS3 (ecs-api.md §7.2), from what the server received. */
export function canonicalRequestV3(req: SignedRequest, signedHeaders: readonly string[]): string {
  const canonicalQuery = Object.keys(req.query)
    .sort()
    .map((k) => `${k}=${percentEncode(req.query[k] ?? '')}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(header(req, h) ?? '').trim()}\n`).join('');
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  return [req.method, req.path, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
}

export function verifyV3(req: SignedRequest, credentials: ReadonlyArray<EmulatorCredential>, nonces: NonceCache, now: number): Authenticated {
  const authorization = header(req, 'authorization');
  if (authorization === undefined || authorization.trim() === '') throw incomplete('The request has no Authorization header.');
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== 'ACS3-HMAC-SHA256') {
    throw incomplete(`The signature algorithm "${algorithm}" is not supported by this endpoint; use ACS3-HMAC-SHA256.`);
  }
  const fields: Record<string, string> = {};
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const accessKeyId = fields['Credential'];
  const signedHeadersText = fields['SignedHeaders'];
  const signature = fields['Signature'];
  if (!accessKeyId || !signedHeadersText || !signature || !/^[0-9a-fA-F]{64}$/.test(signature)) {
    throw incomplete('The Authorization header is incomplete: it needs Credential, SignedHeaders and Signature.');
  }
  const signedHeaders = signedHeadersText.split(';').map((h) => h.trim().toLowerCase());
  const unsigned = REQUIRED_SIGNED_HEADERS.filter((h) => !signedHeaders.includes(h) || header(req, h) === undefined);
  if (unsigned.length > 0) throw incomplete(`Required headers are missing or not signed: ${unsigned.join(', ')}.`);

  const credential = findCredential(credentials, accessKeyId);
  checkTimestamp(header(req, 'x-acs-date'), 'x-acs-date', now);

  const canonical = canonicalRequestV3(req, signedHeaders);
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
  const expected = createHmac('sha256', credential.accessKeySecret).update(stringToSign).digest('hex');
  if (!safeEqual(expected, signature.toLowerCase())) throw signatureMismatch();

  checkSecurityToken(credential, header(req, 'x-acs-security-token'));
  const headerKeyId = header(req, 'x-acs-accesskey-id');
  if (headerKeyId !== undefined && headerKeyId !== accessKeyId) {
    throw badRequest('InvalidAccessKeyId.Mismatch', 'The x-acs-accesskey-id header does not match the Credential of the Authorization header.');
  }
  if (!nonces.use(header(req, 'x-acs-signature-nonce') ?? '', now)) {
    throw badRequest('SignatureNonceUsed', 'Specified signature nonce was used already.');
  }
  return { accessKeyId };
}

/** The common parameters of a V2 (RPC) request; everything else is a business parameter. */
export const V2_COMMON_PARAMS = new Set([
  'Action', 'Format', 'Version', 'AccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce',
  'SignatureType', 'Timestamp', 'SecurityToken', 'BearerToken',
]);

/** V2: params = query + form body. String to sign = METHOD&%2F&pct(sorted pct(k)=pct(v)); key = secret + '&'. */
export function verifyV2(method: string, params: Readonly<Record<string, string>>, credentials: ReadonlyArray<EmulatorCredential>, nonces: NonceCache, now: number): Authenticated {
  const signature = params['Signature'];
  const accessKeyId = params['AccessKeyId'];
  if (!signature || !accessKeyId) throw incomplete('A V2 request needs AccessKeyId and Signature.');
  if (params['SignatureMethod'] !== 'HMAC-SHA1' || params['SignatureVersion'] !== '1.0') {
    throw incomplete('A V2 request must use SignatureMethod=HMAC-SHA1 and SignatureVersion=1.0.');
  }
  const credential = findCredential(credentials, accessKeyId);
  checkTimestamp(params['Timestamp'], 'Timestamp', now);
  const canonical = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? '')}`)
    .join('&');
  const stringToSign = `${method}&${percentEncode('/')}&${percentEncode(canonical)}`;
  const expected = createHmac('sha1', `${credential.accessKeySecret}&`).update(stringToSign).digest('base64');
  if (!safeEqual(expected, signature)) throw signatureMismatch();
  checkSecurityToken(credential, params['SecurityToken']);
  if (!nonces.use(params['SignatureNonce'] ?? '', now)) {
    throw badRequest('SignatureNonceUsed', 'Specified signature nonce was used already.');
  }
  return { accessKeyId };
}
