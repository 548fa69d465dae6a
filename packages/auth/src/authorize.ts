import { HttpError, ProxyError, ProxyErrorCode, type Next, type ProxyContext, type ProxyMethod, type ResultOf } from "@fastmcp-proxy/core";
import { formatChallenge } from "./challenge.js";
import { principalOf, type Principal } from "./principal.js";
import { decide, type PolicyOptions, type RuleTarget } from "./rules.js";

export interface AuthorizeOptions extends PolicyOptions {
  /** The principal when the front has no HTTP authentication (stdio): fixed in configuration. */
  principal?: Principal;
}

/**
 * Per-component authorization. Register it before any middleware that may answer from a cache.
 * Hidden components are left out of lists and unknown when called; a visible one whose scopes the
 * token lacks answers HTTP 403 insufficient_scope (a step-up challenge); a role or predicate
 * refusal is Forbidden.
 */
export function authorize(options: AuthorizeOptions) {
  return Object.assign(authorizeRequest, { scopes: ruleScopes(options) });
  async function authorizeRequest<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    const principal = principalOf(ctx.authInfo) ?? options.principal;
    ctx.hide((component) => {
      const decision = decide(options, component, principal);
      return !decision.allow && decision.hidden;
    });
    const target = concrete(ctx.component as RuleTarget | undefined, ctx.params);
    const decision = target ? decide(options, target, principal) : { allow: true as const };
    // A hidden target is left to core, which answers exactly as for an unknown name.
    if (decision.allow || decision.hidden) return next();
    const what = `${target?.kind} "${target?.name}"`;
    if (decision.missingScopes.length === 0) throw new ProxyError(ProxyErrorCode.Forbidden, `Forbidden: ${what} is not allowed for this caller (${decision.reason})`);
    const needed = decision.missingScopes;
    const metadata = ctx.authInfo?.extra?.resourceMetadataUrl;
    const challenge = formatChallenge({
      error: principal ? "insufficient_scope" : undefined,
      scope: [...new Set([...(principal?.scopes ?? []), ...needed])],
      resourceMetadata: typeof metadata === "string" ? metadata : undefined,
      description: `${what} needs the scope ${needed.join(" ")}`,
    });
    throw new HttpError(principal ? 403 : 401, `${principal ? "Forbidden" : "Unauthorized"}: ${what} needs the scopes ${needed.join(" ")}`, { "www-authenticate": challenge });
  }
}

/**
 * Every scope a rule can ask for: list them in the resource metadata's `scopes_supported`
 * (bearerAuth's `scopesSupported`), so that a client registers for them at an authorization server
 * that refuses a step-up to a scope the client did not register.
 */
export function ruleScopes(options: Pick<PolicyOptions, "rules">): string[] {
  return [...new Set(options.rules.flatMap((rule) => rule.scopes ?? []))];
}

/**
 * A template's request judged by the URI asked for as well as by the template: a rule on a URI
 * prefix is not bypassed by reading through a template.
 */
function concrete(component: RuleTarget | undefined, params: unknown): RuleTarget | undefined {
  const uri = (params as { uri?: unknown } | undefined)?.uri;
  if (component?.kind !== "template" || typeof uri !== "string") return component;
  return { kind: component.kind, name: component.name, backend: component.backend, definition: component.definition, uri };
}
