/**
 * JSON parsing of response bodies, with a typed error: what the server sent is not what
 * it said, so a body that is not JSON is a `ProtocolError` carrying the `SyntaxError`.
 */
import { ProtocolError } from './errors.js';

/**
 * `JSON.parse(text)`.
 * @throws {ProtocolError} when `text` is not JSON; the parser's error is its `cause`
 */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError(`the response body is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}
