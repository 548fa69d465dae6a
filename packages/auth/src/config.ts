import { readFileSync } from "node:fs";
import { z } from "zod";
import { apiKeys } from "./api-keys.js";
import { authorize, ruleScopes } from "./authorize.js";
import { backendAuth, type BackendAuthOptions, type BackendAuthSpec, type CredentialsFn } from "./backend-auth.js";
import { bearerAuth, type BearerAuth } from "./bearer.js";
import { introspectionVerifier } from "./introspection.js";
import { jwtVerifier } from "./jwt.js";
import { staticPrincipal, type Verifier } from "./principal.js";

const strings = z.array(z.string().min(1));
const globs = z.union([z.string().min(1), strings]);

const ruleSchema = z.strictObject({
  backend: globs.optional(),
  tools: globs.optional(),
  resources: globs.optional(),
  prompts: globs.optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
  scopes: strings.optional(),
  roles: strings.optional(),
  rolesClaim: z.string().min(1).optional(),
  hide: z.boolean().optional(),
  deny: z.boolean().optional(),
});

/** The top-level `auth` section of a config file: the front. */
export const frontAuthSchema = z.strictObject({
  /** The canonical URL clients use (behind a reverse proxy: the public one). Default: the served URL. */
  resource: z.url().optional(),
  issuer: z.url().optional(),
  jwksUri: z.url().optional(),
  audience: z.union([z.string().min(1), strings]).optional(),
  algorithms: strings.optional(),
  clockToleranceSec: z.number().nonnegative().optional(),
  /** Least time between two JWKS refetches for an unknown key, ms. */
  jwksCooldownMs: z.number().int().nonnegative().optional(),
  authorizationServers: strings.optional(),
  requiredScopes: strings.optional(),
  scopesSupported: strings.optional(),
  implies: z.record(z.string(), strings).optional(),
  /** Opaque tokens (RFC 7662). `issuer`: the authorization server that issues them, advertised to clients (default: `issuer` above). */
  introspection: z
    .strictObject({ endpoint: z.url(), clientId: z.string().min(1), clientSecret: z.string().min(1), issuer: z.url().optional(), cacheTtlMs: z.number().int().nonnegative().optional() })
    .optional(),
  apiKeys: z.array(z.strictObject({ key: z.string().min(1).optional(), sha256: z.string().optional(), subject: z.string().min(1), scopes: strings.optional() })).optional(),
  optional: z.boolean().optional(),
  rules: z.array(ruleSchema).optional(),
  rolesClaim: z.string().min(1).optional(),
  default: z.enum(["allow", "hide", "deny"]).optional(),
  /** stdio fronts: who the rules see. */
  principal: z.strictObject({ subject: z.string().min(1), scopes: strings.optional(), claims: z.record(z.string(), z.unknown()).optional() }).optional(),
});
export type FrontAuthConfig = z.infer<typeof frontAuthSchema>;

const tokenExchange = {
  tokenEndpoint: z.url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  audience: z.string().optional(),
  resource: z.string().optional(),
  scope: z.string().optional(),
};
/** RFC 9449: bind the tokens of a grant to a key of the proxy's. */
const dpop = z.boolean().optional();
const simpleBackendSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1) }),
  z.strictObject({ type: z.literal("headers"), headers: z.record(z.string(), z.string()) }),
  z.strictObject({ type: z.literal("client_credentials"), clientId: z.string().min(1), clientSecret: z.string().min(1), scope: z.string().optional(), issuer: z.url().optional(), dpop }),
  z.strictObject({
    type: z.literal("private_key_jwt"),
    clientId: z.string().min(1),
    privateKey: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    algorithm: z.string().optional(),
    scope: z.string().optional(),
    issuer: z.url().optional(),
    dpop,
  }),
  z.strictObject({
    type: z.literal("authorization_code"),
    tokenFile: z.string().optional(),
    scope: z.string().optional(),
    issuer: z.url().optional(),
    clientId: z.string().optional(),
    clientSecret: z.string().optional(),
    /** A Client ID Metadata Document (an https URL) used as client_id where the server supports it. */
    clientMetadataUrl: z.url().optional(),
    dpop,
  }),
  z.strictObject({
    type: z.literal("workload_identity"),
    clientId: z.string().min(1),
    /** Where the workload's JWT is: a file, or an environment variable's name (one of them). */
    tokenFile: z.string().min(1).optional(),
    tokenEnv: z.string().min(1).optional(),
    scope: z.string().optional(),
    issuer: z.url().optional(),
    dpop,
  }),
]);
/** A server's `auth` object in a config file: how the proxy authenticates to that backend. */
export const backendAuthSchema = z.union([
  simpleBackendSchema,
  z.strictObject({ type: z.literal("token_exchange"), ...tokenExchange, primary: simpleBackendSchema.optional() }),
  z.strictObject({
    type: z.literal("id_jag"),
    idpTokenEndpoint: z.url(),
    idpClientId: z.string().min(1),
    idpClientSecret: z.string().min(1).optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** One ID token for every caller (the operator's); without it, each caller's own token is the ID token. */
    idToken: z.string().min(1).optional(),
    scope: z.string().optional(),
    issuer: z.url().optional(),
    primary: simpleBackendSchema.optional(),
  }),
  z.strictObject({ type: z.literal("passthrough"), primary: simpleBackendSchema.optional() }),
  z.strictObject({ type: z.literal("per_user"), serverUrl: z.url().optional(), primary: simpleBackendSchema.optional(), dpop }),
]);

/** Each `type` a server's `auth` can have, with its schema (read off the union: one list, the schema's). */
const BACKEND_AUTH_BY_TYPE = new Map<string, z.ZodObject<{ type: z.ZodLiteral<string> }>>(
  backendAuthSchema.options
    .flatMap((option): readonly z.ZodObject<{ type: z.ZodLiteral<string> }>[] => ("shape" in option ? [option] : option.options))
    .map((option) => [option.shape.type.value, option]),
);
const BACKEND_AUTH_TYPES = [...BACKEND_AUTH_BY_TYPE.keys()];
/** The types whose grant can be bound with DPoP. */
const DPOP_TYPES = BACKEND_AUTH_TYPES.filter((type) => "dpop" in (BACKEND_AUTH_BY_TYPE.get(type)?.shape ?? {}));

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? `${where}.${issue.path.join(".")}` : where;
  throw new TypeError(`${path}: ${issue?.message ?? "invalid"}`);
}

export interface FrontAuth {
  /** For `authenticate` (HTTP fronts); undefined on a config with no verifier (stdio rules only). */
  bearer: BearerAuth | undefined;
  /** For `proxy.use(...)`, before any caching middleware; undefined without rules. */
  authorize: ReturnType<typeof authorize> | undefined;
}

/**
 * The front's auth from the config file's `auth` section (checked with zod, errors naming the
 * field). `servedUrl` is the default resource: where the proxy's MCP endpoint is served.
 */
export function frontAuthFromConfig(section: unknown, options: { servedUrl?: string } = {}): FrontAuth {
  const c = check(frontAuthSchema, section, "auth");
  const verifiers: Verifier[] = [];
  if (c.issuer) {
    verifiers.push(
      jwtVerifier({
        issuer: c.issuer,
        ...(c.jwksUri ? { jwksUri: c.jwksUri } : {}),
        ...(c.audience ? { audience: c.audience } : {}),
        ...(c.algorithms ? { algorithms: c.algorithms } : {}),
        ...(c.clockToleranceSec !== undefined ? { clockToleranceSec: c.clockToleranceSec } : {}),
        ...(c.jwksCooldownMs !== undefined ? { jwksCooldownMs: c.jwksCooldownMs } : {}),
      }),
    );
  }
  if (c.introspection) {
    const issuer = c.introspection.issuer ?? c.issuer;
    if (!issuer && !c.authorizationServers) {
      throw new TypeError("auth.introspection.issuer: give the issuer of the authorization server that issues the tokens, so that clients can find where to sign in");
    }
    verifiers.push(introspectionVerifier({ ...c.introspection, ...(issuer ? { issuer } : {}), ...(c.audience ? { audience: c.audience } : {}) }));
  }
  if (c.apiKeys) verifiers.push(apiKeys(c.apiKeys));
  const resource = c.resource ?? options.servedUrl;
  const supported = c.scopesSupported ?? [...new Set([...(c.requiredScopes ?? []), ...ruleScopes({ rules: c.rules ?? [] })])];
  if (verifiers.length && !resource) throw new TypeError("auth.resource: give the proxy's public URL (e.g. https://mcp.example.com/mcp)");
  const bearer = verifiers.length
    ? bearerAuth({
        resource: resource as string,
        // Default: the issuers the verifiers name.
        ...(c.authorizationServers ? { authorizationServers: c.authorizationServers } : {}),
        verifier: verifiers,
        ...(c.requiredScopes ? { requiredScopes: c.requiredScopes } : {}),
        // Every scope a request can be asked for, so that clients register for them.
        ...(supported.length ? { scopesSupported: supported } : {}),
        ...(c.implies ? { implies: c.implies } : {}),
        ...(c.optional ? { optional: true } : {}),
        // API-key clients (mcp-proxy's, agentgateway's) often send the key as X-API-Key rather than a bearer token.
        ...(c.apiKeys ? { apiKeyHeader: "x-api-key" } : {}),
      })
    : undefined;
  const policy = c.rules
    ? authorize({
        rules: c.rules,
        ...(c.implies ? { implies: c.implies } : {}),
        ...(c.rolesClaim ? { rolesClaim: c.rolesClaim } : {}),
        ...(c.default ? { default: c.default } : {}),
        ...(c.principal ? { principal: staticPrincipal(c.principal) } : {}),
      })
    : undefined;
  return { bearer, authorize: policy };
}

/** Backend credentials for `proxy.credentials(...)` from each server's `auth` object (servers without one are left alone). */
export function backendAuthFromConfig(servers: Readonly<Record<string, object | undefined>>, options: BackendAuthOptions = {}): CredentialsFn | undefined {
  const specs: Record<string, BackendAuthSpec> = {};
  for (const [name, server] of Object.entries(servers)) {
    const auth = (server as { auth?: unknown } | undefined)?.auth;
    if (auth === undefined) continue;
    const type = (auth as { type?: unknown } | null)?.type;
    const schema = typeof type === "string" ? BACKEND_AUTH_BY_TYPE.get(type) : undefined;
    if (!schema) {
      throw new TypeError(`mcpServers.${name}.auth.type: ${type === undefined ? "missing" : `"${String(type)}" is not one`}; use one of ${BACKEND_AUTH_TYPES.join(", ")}`);
    }
    if ((auth as { dpop?: unknown }).dpop !== undefined && !DPOP_TYPES.includes(type as string)) {
      throw new TypeError(`mcpServers.${name}.auth.dpop: DPoP binds the tokens the proxy gets from an authorization server; use it with type ${DPOP_TYPES.join(", ")}, not ${type}`);
    }
    // Checked against its own type's schema: the error names the field, not the union.
    specs[name] = check(schema, auth, `mcpServers.${name}.auth`) as BackendAuthSpec;
  }
  return Object.keys(specs).length ? backendAuth(specs, options) : undefined;
}

/** The CLI's auth flags (`--auth-issuer`, `--auth-jwks-uri`, `--auth-audience`, `--auth-required-scopes`, `--auth-resource-url`, `--auth-jwks-cooldown`, `--auth-rules`, `--api-key-env`). */
export interface AuthFlags {
  issuer?: string;
  jwksUri?: string;
  audience?: string;
  requiredScopes?: readonly string[];
  resourceUrl?: string;
  /** The name of an environment variable holding an API key (never the key itself: argv is visible to every user). */
  apiKeyEnv?: string;
  jwksCooldownMs?: number;
  /** A JSON file of rules: an array, or `{ rules, implies, default, rolesClaim }`. */
  rulesFile?: string;
}

/**
 * The flags as a config `auth` section, to spread over the file's: `frontAuthFromConfig({ ...config.auth, ...authSectionFromFlags(flags) }, { servedUrl })`.
 */
export function authSectionFromFlags(flags: AuthFlags, env: NodeJS.ProcessEnv = process.env): Partial<FrontAuthConfig> {
  const section: Partial<FrontAuthConfig> = {};
  if (flags.issuer) section.issuer = flags.issuer;
  if (flags.jwksUri) section.jwksUri = flags.jwksUri;
  if (flags.audience) section.audience = flags.audience;
  if (flags.requiredScopes?.length) section.requiredScopes = [...flags.requiredScopes];
  if (flags.resourceUrl) section.resource = flags.resourceUrl;
  if (flags.jwksCooldownMs !== undefined) section.jwksCooldownMs = flags.jwksCooldownMs;
  if (flags.rulesFile) Object.assign(section, rulesFrom(flags.rulesFile));
  if (flags.apiKeyEnv) {
    const key = env[flags.apiKeyEnv];
    if (!key) throw new TypeError(`--api-key-env ${flags.apiKeyEnv}: the environment variable ${flags.apiKeyEnv} is not set`);
    section.apiKeys = [{ key, subject: "api-key" }];
  }
  return section;
}

/** `--auth-rules <file.json>`: the rules part of an auth section, checked like the config file's. */
function rulesFrom(path: string): Pick<FrontAuthConfig, "rules" | "implies" | "default" | "rolesClaim"> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new TypeError(`--auth-rules ${path}: ${(error as Error).message}`);
  }
  const section = Array.isArray(parsed) ? { rules: parsed } : parsed;
  return check(frontAuthSchema.pick({ rules: true, implies: true, default: true, rolesClaim: true }).strict(), section, `--auth-rules ${path}`);
}
