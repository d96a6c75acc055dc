// An ECS API error as the gateway returns it: HTTP status + JSON {RequestId, HostId, Code, Message, Recommend}.

export class EcsApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'EcsApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function badRequest(code: string, message: string): EcsApiError {
  return new EcsApiError(400, code, message);
}

export function notFound(code: string, message: string): EcsApiError {
  return new EcsApiError(404, code, message);
}

export function forbidden(code: string, message: string): EcsApiError {
  return new EcsApiError(403, code, message);
}

export function missingParameter(name: string, code = `MissingParameter.${name}`): EcsApiError {
  return badRequest(code, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
}

export function throttled(retryAfterMs: number): EcsApiError {
  return new EcsApiError(400, 'Throttling.User', 'Request was denied due to user flow control.', {
    'x-acs-retry-after': String(Math.max(0, Math.ceil(retryAfterMs))),
  });
}

export function serviceUnavailable(): EcsApiError {
  return new EcsApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.');
}

export function errorBody(err: EcsApiError, requestId: string, hostId: string): Record<string, string> {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=Ecs&requestId=${requestId}`,
  };
}
