/**
 * Typed errors of the JetStream HTTP gateway (`{error:{code, message, err_code?}}`) and of
 * nats-server's monitoring port. Transport failures are not wrapped: they stay
 * http-sentinel's own errors (`ConnectionError`, `TimeoutError`, ...), with their codes.
 */

const BRAND = Symbol.for('http-sentinel.examples.nats-gateway-error');

/** Fields of {@link NatsGatewayError}. */
export interface NatsGatewayErrorInit {
  status: number;
  code: string;
  message: string;
  errCode?: number | undefined;
  attempts?: number | undefined;
  source?: 'gateway' | 'monitor';
}

/**
 * An error answered by the gateway (or by the monitoring port): its HTTP status, the
 * gateway's stable `code` (`stream_not_found`, `no_stream_for_subject`, ...) and, when
 * JetStream reported it, JetStream's numeric `errCode` (10059 stream not found, ...).
 *
 * @example
 * ```ts
 * try { await nats.getStreamInfo('NOPE'); }
 * catch (err) { if (isNatsGatewayError(err) && err.code === 'stream_not_found') create(); }
 * ```
 */
export class NatsGatewayError extends Error {
  override readonly name = 'NatsGatewayError';
  readonly status: number;
  /** The gateway's error code; `http_<status>` when the body was not a gateway error. */
  readonly code: string;
  /** JetStream's `err_code`, when JetStream reported the failure. */
  readonly errCode: number | undefined;
  /** HTTP attempts made (1 = no retry). */
  readonly attempts: number | undefined;
  /** Who answered: the gateway, or nats-server's monitoring port. */
  readonly source: 'gateway' | 'monitor';

  constructor(init: NatsGatewayErrorInit) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.errCode = init.errCode;
    this.attempts = init.attempts;
    this.source = init.source ?? 'gateway';
  }

  /** Survives duplicate copies of this module, unlike `instanceof`. */
  get [BRAND](): true {
    return true;
  }
}

/** True for a {@link NatsGatewayError} from any copy of this module. */
export function isNatsGatewayError(value: unknown): value is NatsGatewayError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; err_code?: unknown };
}

/** The error of a non-2xx answer, whatever its body. */
export function gatewayErrorFrom(
  status: number,
  bodyText: string,
  attempts: number,
  source: 'gateway' | 'monitor' = 'gateway',
): NatsGatewayError {
  let body: ErrorBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as ErrorBody;
  } catch {
    // Not a gateway error body (a proxy's page, nats-server's plain text): keep the text.
  }
  const { code, message, err_code } = body.error ?? {};
  return new NatsGatewayError({
    status,
    code: typeof code === 'string' ? code : `http_${status}`,
    message:
      typeof message === 'string' ? message : bodyText.trim().slice(0, 200) || `HTTP ${status}`,
    errCode: typeof err_code === 'number' ? err_code : undefined,
    attempts,
    source,
  });
}
