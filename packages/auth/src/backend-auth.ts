import { ClientCredentialsProvider, PrivateKeyJwtProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { identityOf, type Backend, type BackendCredentials, type CredentialsProvider, type Logger, type SessionOwner } from "@fastmcp-proxy/core";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { storedTokenProvider, type StoredAuth } from "./stored-tokens.js";
import { TokenFile, defaultTokenFile } from "./token-file.js";
import { TokenExchange, type TokenExchangeOptions } from "./token-exchange.js";
import { guarded, type IssuerPolicy } from "./egress.js";
import { guardedFetch, type EgressOptions } from "./guarded-fetch.js";
import { exchangeProvider } from "./exchange-provider.js";
import { idJagProvider, type IdJagOptions } from "./id-jag.js";
import { boundTokens, dpopFetch, keyInFile, processKey } from "./dpop.js";
import { workloadIdentityProvider, type WorkloadIdentityOptions } from "./workload-identity.js";
import type { UserAuthorization } from "./user-authorization.js";

/** How the proxy authenticates to one backend. Nothing of the client's request reaches it unless `passthrough`. */
export type BackendAuthSpec =
  | { type: "bearer"; token: string }
  | { type: "headers"; headers: Record<string, string> }
  | { type: "env"; env: Record<string, string> }
  | ({ type: "client_credentials"; clientId: string; clientSecret: string; scope?: string; issuer?: string } & Dpop)
  | ({ type: "private_key_jwt"; clientId: string; privateKey: string | Record<string, unknown>; algorithm?: string; scope?: string; issuer?: string } & Dpop)
  | ({ type: "authorization_code"; tokenFile?: string; scope?: string; issuer?: string; clientId?: string; clientSecret?: string; clientMetadataUrl?: string } & Dpop)
  | ({ type: "workload_identity" } & WorkloadIdentityOptions & Dpop)
  | ({ type: "token_exchange"; primary?: BackendAuthSpec } & TokenExchangeOptions)
  | ({ type: "id_jag"; idToken?: string; primary?: BackendAuthSpec } & IdJagOptions)
  | { type: "passthrough"; primary?: BackendAuthSpec }
  | ({ type: "per_user"; primary?: BackendAuthSpec; serverUrl?: string } & Dpop);

/** `dpop: true`: the grant's tokens are bound to a key of the proxy's (RFC 9449), one per grant. */
export interface Dpop {
  dpop?: boolean;
}

/**
 * What `backendAuth` gives: a function for `proxy.credentials(...)`, which also tells core which
 * backends act with each caller's own credentials (`perCaller`): those are never reached with the
 * proxy's on a caller's behalf, and refuse anonymous callers.
 */
export type CredentialsFn = ((...args: Parameters<CredentialsProvider>) => Promise<BackendCredentials | undefined>) & {
  readonly perCaller: (backend: Backend) => boolean;
};

/** The kinds that act with each caller's own identity; their `primary` is the proxy's own discovery only. */
const PER_CALLER = new Set<BackendAuthSpec["type"]>(["token_exchange", "per_user", "passthrough"]);

/** `id_jag` acts for each caller unless it is given one ID token (the operator's). */
function actsPerCaller(spec: BackendAuthSpec | undefined): boolean {
  return spec !== undefined && (PER_CALLER.has(spec.type) || (spec.type === "id_jag" && !spec.idToken));
}

export interface BackendAuthOptions {
  /** Where the passthrough warning goes (at start). */
  logger?: Pick<Logger, "warn">;
  /** For `per_user` backends: the sign-ins through URL elicitation. */
  users?: UserAuthorization;
  /**
   * For `authorization_code` backends while serving: shows the operator the URL when a backend wants
   * a new authorization (a wider scope, another authorization server). Print it; never hand it to a
   * shell. Without it, such a backend fails with the login command to run.
   */
  signIn?: (backend: string, url: URL) => void | Promise<void>;
  /**
   * What a backend's OAuth discovery may reach beyond the public internet. Every hop of it is
   * checked at connect time (see guardedFetch); default: nothing private, loopback only for a
   * backend on loopback.
   */
  egress?: EgressOptions;
}

/**
 * Credentials per backend for `proxy.credentials(...)`: static ones, OAuth clients on the SDK's
 * providers, on-behalf-of token exchange, or (named as against the spec) passthrough.
 */
export function backendAuth(specs: Readonly<Record<string, BackendAuthSpec>>, options: BackendAuthOptions = {}): CredentialsFn {
  const fetches = new Map<string, typeof fetch>();
  // The SDK's OAuth flow for a backend goes through the egress guard, every hop of it.
  const guardFor: GuardFor = (url) => {
    let guard = fetches.get(url);
    if (!guard) fetches.set(url, (guard = guardedFetch(url, options.egress)));
    return guard;
  };
  const byBackend = new Map(Object.entries(specs).map(([name, spec]) => [name, forSpec(name, spec, options, guardFor)]));
  async function backendCredentials(backend: Backend, owner: SessionOwner): Promise<BackendCredentials | undefined> {
    const credentials = await byBackend.get(backend.name)?.(owner.authInfo, backend, owner);
    if (!credentials?.authProvider || credentials.fetch) return credentials;
    return { ...credentials, fetch: guardFor(backend.connector.label) };
  }
  return Object.assign(backendCredentials, { perCaller: (backend: Backend) => actsPerCaller(specs[backend.name]) });
}

/** `owner` is read again on each request where that matters (token exchange): it holds the caller's latest token. */
type ForSession = (authInfo: AuthInfo | undefined, backend: Backend, owner?: Pick<SessionOwner, "authInfo" | "tenant">) => Promise<BackendCredentials | undefined>;

/** The egress-guarded fetch for a backend's URL (one per URL). */
type GuardFor = (url: string) => typeof fetch;

/**
 * A per-caller kind's credentials: `primary` for the proxy's own sessions (no tenant: discovery),
 * the caller's own otherwise. A caller without credentials is refused, never given the proxy's.
 */
function perCaller(name: string, primary: ForSession | undefined, forCaller: (authInfo: AuthInfo, backend: Backend, owner: Pick<SessionOwner, "authInfo">) => Promise<BackendCredentials>): ForSession {
  return async (authInfo, backend, owner) => {
    if (!owner?.tenant) return primary?.(undefined, backend);
    if (!authInfo) throw new Error(`backend "${name}" acts with each caller's own credentials, and this caller has none`);
    return forCaller(authInfo, backend, owner);
  };
}

function forSpec(name: string, spec: BackendAuthSpec, options: BackendAuthOptions, guardFor: GuardFor): ForSession {
  switch (spec.type) {
    case "bearer":
      return async () => ({ headers: { authorization: `Bearer ${spec.token}` } });
    case "headers":
      return async () => ({ headers: { ...spec.headers } });
    case "env":
      return async () => ({ env: { ...spec.env } });
    case "client_credentials": {
      // One provider per backend: a service account's token serves every session (and one DPoP key).
      const authProvider = guarded(new ClientCredentialsProvider({ clientId: spec.clientId, clientSecret: spec.clientSecret, ...optional(spec.scope, spec.issuer) }), name, pinned(spec.issuer));
      return serviceAccount(spec, authProvider, guardFor);
    }
    case "private_key_jwt": {
      const authProvider = guarded(
        new PrivateKeyJwtProvider({ clientId: spec.clientId, privateKey: spec.privateKey, algorithm: spec.algorithm ?? "ES256", ...optional(spec.scope, spec.issuer) }),
        name,
        pinned(spec.issuer),
      );
      return serviceAccount(spec, authProvider, guardFor);
    }
    case "workload_identity":
      if (!spec.tokenFile === !spec.tokenEnv) throw new TypeError(`backend "${name}" (workload_identity): give tokenFile (the JWT's path) or tokenEnv (the name of the variable holding it), one of them`);
      return serviceAccount(spec, guarded(workloadIdentityProvider(name, spec), name, pinned(spec.issuer)), guardFor);
    case "authorization_code": {
      // One provider for every session, made with the first (its fetch is the backend's).
      let credentials: BackendCredentials | undefined;
      return async (_authInfo, backend) => (credentials ??= authorizationCode(name, spec, options, guardFor(backend.connector.label)));
    }
    case "token_exchange": {
      const exchange = new TokenExchange(spec);
      const primary = spec.primary ? forSpec(name, spec.primary, options, guardFor) : undefined;
      return perCaller(name, primary, async (_authInfo, _backend, owner) => ({ authProvider: exchangeProvider(name, exchange, owner) }));
    }
    case "id_jag": {
      // One pin for every session of the backend: its client secret stays with one authorization server.
      const policy = pinned(spec.issuer);
      const provider = (backend: Backend, idToken: () => string) => guarded(idJagProvider(name, spec, idToken, backend.connector.label), name, policy);
      const { idToken } = spec;
      if (idToken) {
        let authProvider: ReturnType<typeof provider> | undefined;
        return async (_authInfo, backend) => ({ authProvider: (authProvider ??= provider(backend, () => idToken)) });
      }
      // Each caller's own token is the ID token (a front that accepts the IdP's ID tokens). Anything
      // else (an API key, an opaque token) is never sent to the IdP.
      const callerIdToken = (authInfo: AuthInfo) => {
        if (!JWT.test(authInfo.token)) throw new Error(`backend "${name}" (id_jag) needs each caller's ID token, and this caller did not sign in with one`);
        return authInfo.token;
      };
      const primary = spec.primary ? forSpec(name, spec.primary, options, guardFor) : undefined;
      return perCaller(name, primary, async (authInfo, backend, owner) => ({ authProvider: provider(backend, () => callerIdToken(owner.authInfo ?? authInfo)) }));
    }
    case "per_user": {
      const users = options.users;
      if (!users) throw new TypeError(`backend "${name}": per_user needs backendAuth(specs, { users: new UserAuthorization({ callbackUrl }) })`);
      const primary = spec.primary ? forSpec(name, spec.primary, options, guardFor) : undefined;
      const policy: IssuerPolicy = users.options.clientSecret ? pinned(undefined) : {};
      return perCaller(name, primary, async (authInfo, backend) => {
        const serverUrl = spec.serverUrl ?? backend.connector.label;
        const identity = identityOf(authInfo) as string;
        // The caller's own key, kept with their grant: no other caller's proofs can present its tokens.
        const guard = guardFor(backend.connector.label);
        const fetch: typeof globalThis.fetch = spec.dpop ? dpopFetch(guard, { key: users.dpopKey(name, identity), bound: boundTokens(() => authProvider.tokens()) }) : guard;
        // The same fetch redeems the code when the caller's browser comes back.
        const authProvider: OAuthClientProvider = guarded(users.provider(name, identity, serverUrl, fetch), name, policy);
        return { authProvider, fetch };
      });
    }
    case "passthrough": {
      options.logger?.warn(
        `backend "${name}": auth passthrough sends each client's own access token to this backend, against the MCP security guidance (no token passthrough); prefer token_exchange`,
      );
      const primary = spec.primary ? forSpec(name, spec.primary, options, guardFor) : undefined;
      return perCaller(name, primary, async (authInfo) => ({ headers: { authorization: `Bearer ${authInfo.token}` } }));
    }
    default:
      throw new TypeError(`backend "${name}": unknown auth type "${(spec as { type: string }).type}"`);
  }
}

/**
 * A backend signed in to with `auth login`: tokens in its file, and with `dpop` the grant's key in
 * the same file. Refreshes and run-time sign-ins go through the sessions' fetch (guard, DPoP).
 */
function authorizationCode(name: string, spec: Extract<BackendAuthSpec, { type: "authorization_code" }>, options: BackendAuthOptions, guard: typeof fetch): BackendCredentials {
  const file = new TokenFile<StoredAuth>(spec.tokenFile ?? defaultTokenFile(name));
  const fetch = spec.dpop ? dpopFetch(guard, { key: keyInFile(file), bound: boundTokens(() => file.read().tokens) }) : guard;
  const signIn = options.signIn;
  const stored = storedTokenProvider(name, { ...spec, fetch, ...(signIn ? { signIn: (url: URL) => signIn(name, url) } : {}) });
  // A configured secret stays with the issuer of the login (or the first one used).
  const policy = spec.clientSecret ? pinned(spec.issuer, file.read().issuer) : { allowed: spec.issuer ? [spec.issuer] : undefined };
  return { authProvider: guarded(stored, name, policy), fetch };
}

/** One provider for every session of the backend; with `dpop`, one key too, as long as the process. */
function serviceAccount(spec: Dpop, authProvider: OAuthClientProvider, guardFor: GuardFor): ForSession {
  const binding = { key: processKey(), bound: boundTokens(() => authProvider.tokens()) };
  return async (_authInfo, backend) => (spec.dpop ? { authProvider, fetch: dpopFetch(guardFor(backend.connector.label), binding) } : { authProvider });
}

/** A compact JWS: what an ID token is. */
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** Only `issuer` when given; else the first issuer used, for every session of the backend. */
function pinned(issuer: string | undefined, firstSeen?: string): IssuerPolicy {
  return issuer ? { allowed: [issuer] } : { pin: { issuer: firstSeen } };
}

function optional(scope: string | undefined, issuer: string | undefined): { scope?: string; expectedIssuer?: string } {
  return { ...(scope ? { scope } : {}), ...(issuer ? { expectedIssuer: issuer } : {}) };
}
