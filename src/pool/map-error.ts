/**
 * Turns what undici and the socket layer throw into http-sentinel's typed errors, so no
 * undici error reaches a caller unwrapped.
 */
import {
  ConnectionError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
  ProtocolError,
  type SentinelError,
  TimeoutError,
} from '../core/errors.js';

/** The brand undici puts on its `HTTPParserError` (the same in every copy of undici). */
const HTTP_PARSER_ERROR = Symbol.for('undici.error.UND_ERR_HTTP_PARSER');

interface ErrorLike {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/**
 * A response cut off after its headers, however the peer cut it (FIN before the body's
 * end, RST, or the parser's "invalid EOF" when the socket closed mid-body), is one
 * `ConnectionError` with `beforeResponse: false`: the data is lost in transit, not
 * malformed, so an idempotent request is retried alike in every case.
 *
 * @param err - what undici reported
 * @param responseStarted - whether response headers had arrived
 * @param connectTimeoutMs - the handshake deadline in force, for the error's figure
 * @param bodyTimeoutMs - the idle-body deadline in force
 * @param peerClosed - whether the socket had ended or failed before `err` was reported
 */
export function mapTransportError(
  err: unknown,
  responseStarted: boolean,
  connectTimeoutMs: number,
  bodyTimeoutMs: number,
  peerClosed = false,
): SentinelError {
  if (isSentinelError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError('connect', connectTimeoutMs, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TimeoutError('headers', bodyTimeoutMs, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError('body', bodyTimeoutMs, { cause: err });
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return new InvalidRequestError(message, { cause: err });
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
      return new PoolClosedError('the connection was closed by the pool', { cause: err });
    case 'UND_ERR_HEADERS_OVERFLOW':
      // The same server sends the same headers again: not worth a retry.
      return new ProtocolError(`response headers too large: ${message}`, { cause: err });
    case 'UND_ERR_INFO':
      return new ProtocolError(`malformed response: ${message}`, { cause: err });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      // undici checks the length only when the socket closed before the body's end.
      return truncated(message, err);
    case 'UND_ERR_SOCKET':
      // The server closed the socket. Before the response it is a connection failure
      // (a stale keep-alive socket, typically); after it, the body was cut short.
      return responseStarted
        ? truncated(message, err)
        : new ConnectionError(`connection closed before the response: ${message}`, {
            cause: err,
            errno: 'ECONNRESET',
            beforeResponse: true,
          });
    default:
      break;
  }
  // undici's parser errors carry `HPE_*` codes in principle, but undici 7 looks the code
  // up in the wrong direction and leaves it undefined; its cross-copy brand is reliable.
  if (code?.startsWith('HPE_') || (e as Record<symbol, unknown>)[HTTP_PARSER_ERROR] === true) {
    // A parser that fails once the socket has closed mid-body ("invalid EOF state") saw
    // a cut, not a malformed message.
    if (responseStarted && peerClosed) return truncated(message, err);
    return new ProtocolError(`malformed response: ${message}`, { cause: err });
  }
  if (
    code?.startsWith('ERR_TLS') ||
    code?.startsWith('ERR_SSL') ||
    /certificate|self.signed/i.test(message)
  ) {
    return new ConnectionError(`TLS failure: ${message}`, {
      cause: err,
      errno: code,
      beforeResponse: !responseStarted,
    });
  }
  return new ConnectionError(message, {
    cause: err,
    errno: code,
    syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
    beforeResponse: !responseStarted,
  });
}

function truncated(message: string, cause: unknown): ConnectionError {
  return new ConnectionError(`response truncated: ${message}`, { cause, beforeResponse: false });
}
