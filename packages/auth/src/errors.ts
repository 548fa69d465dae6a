/** A token that is missing, malformed, expired, of another audience or badly signed: 401 invalid_token. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The verifier could not decide (JWKS or introspection endpoint unreachable): 503, never allow. */
export class VerifierUnavailableError extends Error {
  override name = "VerifierUnavailableError";
}
