/** The parameters of a `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3, RFC 9728 §5.1). */
export interface Challenge {
  resourceMetadata?: string;
  scope?: readonly string[];
  /** Absent when no credentials were sent (RFC 6750 §3.1). */
  error?: "invalid_request" | "invalid_token" | "insufficient_scope";
  description?: string;
}

/** Quoted-string: backslash-escape `"` and `\`, drop control characters. */
function quote(value: string): string {
  return `"${value.replace(/[\x00-\x1f\x7f]/g, "").replace(/["\\]/g, "\\$&")}"`;
}

export function formatChallenge(challenge: Challenge): string {
  const params: string[] = [];
  if (challenge.error) params.push(`error=${quote(challenge.error)}`);
  if (challenge.description) params.push(`error_description=${quote(challenge.description)}`);
  if (challenge.scope?.length) params.push(`scope=${quote(challenge.scope.join(" "))}`);
  if (challenge.resourceMetadata) params.push(`resource_metadata=${quote(challenge.resourceMetadata)}`);
  return params.length ? `Bearer ${params.join(", ")}` : "Bearer";
}
