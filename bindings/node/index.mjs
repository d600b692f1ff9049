// ESM entry of the `nexotp` package: the same objects as the CommonJS entry (one native addon,
// one set of error classes, so `instanceof` agrees between `import` and `require`).
import cjs from './index.js';

export const {
  Client,
  Watcher,
  verifyWebhook,
  signWebhook,
  SIGNATURE_HEADER,
  VERSION,
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
} = cjs;

export default cjs;
