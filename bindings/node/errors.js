'use strict';
/**
 * The error classes of the `nexotp` package (DESIGN §5): real `Error` subclasses, so
 * `instanceof` works up the tree, with `status`, `code`, `requestId`, `retryAfterMs`, `order`
 * ... where they apply.
 *
 * The native addon rejects with an `Error` whose message is a JSON document
 * `{"nexotp": "<class name>", "message": ..., ...fields}`; `fromNative` turns it into the
 * matching class below. Any other error (which would be a bug) becomes a `NexOTPError` with the
 * original as `cause`.
 */

/**
 * Base class of every error this package throws. `retryable` says whether sending the same call
 * again is safe and may succeed (the core's `is_retryable()`; always false for createOrder,
 * resendOrder and createWebhook).
 */
class NexOTPError extends Error {
  constructor(message, fields, options) {
    super(message, options);
    this.retryable = false;
    if (fields) {
      for (const key of Object.keys(fields)) {
        if (key !== 'nexotp' && key !== 'message' && fields[key] !== undefined) {
          this[key] = fields[key];
        }
      }
    }
  }
}

class InvalidArgumentError extends NexOTPError {}
class APIError extends NexOTPError {}
class AuthenticationError extends APIError {}
class PermissionDeniedError extends APIError {}
class NotFoundError extends APIError {}
class InvalidRequestError extends APIError {}
class InsufficientBalanceError extends APIError {}
class ConflictError extends APIError {}
class RateLimitError extends APIError {}
class ServerError extends APIError {}
class APIConnectionError extends NexOTPError {}
class APITimeoutError extends APIConnectionError {}
class OrderOutcomeUnknownError extends APIConnectionError {}
class UnexpectedResponseError extends NexOTPError {}
class WaitTimeoutError extends NexOTPError {}
class OrderClosedError extends NexOTPError {}
class WebhookVerificationError extends NexOTPError {}

/** A call aborted by its `AbortSignal` before anything that could take effect was sent. `cause` is the signal's reason. */
class AbortError extends NexOTPError {
  constructor(message = 'the operation was aborted', fields, options) {
    super(message, fields, options);
    this.code = 'ABORT_ERR';
  }
}

const classes = {
  NexOTPError,
  InvalidArgumentError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  InvalidRequestError,
  InsufficientBalanceError,
  ConflictError,
  RateLimitError,
  ServerError,
  APIConnectionError,
  APITimeoutError,
  OrderOutcomeUnknownError,
  UnexpectedResponseError,
  WaitTimeoutError,
  OrderClosedError,
  WebhookVerificationError,
  AbortError,
};

// `err.name` is the class name (what stack traces and util.inspect print).
for (const [name, cls] of Object.entries(classes)) {
  Object.defineProperty(cls.prototype, 'name', {
    value: name,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

const MARKER = '{"nexotp":';

/**
 * The error class instance for a decoded payload (`{"nexotp": "<class name>", ...}`).
 * @param {{nexotp: string, message: string}} payload
 * @returns {Error}
 */
function fromPayload(payload) {
  const Cls = Object.prototype.hasOwnProperty.call(classes, payload.nexotp) ? classes[payload.nexotp] : NexOTPError;
  return new Cls(payload.message, payload);
}

/**
 * Converts a rejection of the native addon into the matching error class.
 * @param {unknown} err
 * @returns {Error}
 */
function fromNative(err) {
  if (err instanceof NexOTPError) {
    return err;
  }
  const message = err && typeof err.message === 'string' ? err.message : '';
  if (message.startsWith(MARKER)) {
    let payload;
    try {
      payload = JSON.parse(message);
    } catch {
      payload = undefined;
    }
    if (payload && typeof payload.nexotp === 'string') return fromPayload(payload);
  }
  return new NexOTPError(
    `unexpected error from the nexotp native addon: ${message || String(err)}`,
    undefined,
    { cause: err },
  );
}

module.exports = { ...classes, fromNative, fromPayload };
