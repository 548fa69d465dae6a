import { globMatcher } from "@fastmcp-proxy/core";
import type { Principal } from "./principal.js";
import { expandScopes, missingScopes, type ScopeImplications } from "./scopes.js";

/** What a rule needs to know of a component (core's ProxyTool, ProxyResource, ...). */
export interface RuleTarget {
  readonly kind: "tool" | "resource" | "template" | "prompt";
  /** The name or URI clients see. */
  readonly name: string;
  readonly backend: { readonly name: string };
  readonly definition: unknown;
  /** For a read or subscribe through a template: the concrete URI asked for, which `resources` rules judge too. */
  readonly uri?: string | undefined;
}

/** One glob or several, as core's `globMatcher` reads them: `*` any run of characters (`/` included), `?` one. */
export type Globs = string | readonly string[];

export interface Rule {
  /** Which components: by backend name, by name (tools, prompts) or URI (resources, templates), by tool annotations. Globs. */
  backend?: Globs;
  tools?: Globs;
  resources?: Globs;
  prompts?: Globs;
  /** Tools whose annotations have these values (the spec's defaults apply to missing hints). */
  annotations?: Readonly<Record<string, unknown>>;
  /** Needed scopes (all of them; implications apply). A visible component lacking them answers 403 insufficient_scope. */
  scopes?: readonly string[];
  /** Needed roles (any of them), read from `rolesClaim`. */
  roles?: readonly string[];
  /** A claim path such as `realm_access.roles` or `roles` (array or space-separated). Default: the policy's. */
  rolesClaim?: string;
  /** A predicate on the principal (undefined when anonymous). */
  when?: (principal: Principal | undefined, target: RuleTarget) => boolean;
  /** When the requirements are not met (or always, with none): left out of lists, and unknown when called. */
  hide?: boolean;
  /** When the requirements are not met (or always, with none): listed, but a call is Forbidden. */
  deny?: boolean;
}

export type Decision = { allow: true } | { allow: false; hidden: true } | { allow: false; hidden: false; missingScopes: string[]; reason: string };

/** A hint's value with the spec's defaults; destructive and idempotent mean nothing for a read-only tool. */
function hint(given: Record<string, unknown>, key: string): unknown {
  if (given[key] !== undefined) return given[key];
  const readOnly = given.readOnlyHint === true;
  return { readOnlyHint: false, destructiveHint: !readOnly, idempotentHint: false, openWorldHint: true }[key];
}

const matches = (globs: Globs, value: string) => globMatcher(globs)(value);

function selects(rule: Rule, target: RuleTarget): boolean {
  if (rule.backend !== undefined && !matches(rule.backend, target.backend.name)) return false;
  const byKind = { tool: rule.tools, prompt: rule.prompts, resource: rule.resources, template: rule.resources }[target.kind];
  const anyKind = rule.tools !== undefined || rule.prompts !== undefined || rule.resources !== undefined;
  if (anyKind && (byKind === undefined || !(matches(byKind, target.name) || (target.uri !== undefined && matches(byKind, target.uri))))) return false;
  if (rule.annotations) {
    if (target.kind !== "tool") return false;
    const given = ((target.definition as { annotations?: Record<string, unknown> }).annotations ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(rule.annotations)) if (hint(given, key) !== value) return false;
  }
  return true;
}

/** The value at a dotted claim path. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined), claims);
}

function rolesOf(principal: Principal | undefined, path: string): string[] {
  const value = principal ? claimAt(principal.claims, path) : undefined;
  if (typeof value === "string") return value.split(" ").filter(Boolean);
  return Array.isArray(value) ? value.filter((r): r is string => typeof r === "string") : [];
}

export interface PolicyOptions {
  rules: readonly Rule[];
  /** Components no rule selects. Default "allow". */
  default?: "allow" | "hide" | "deny";
  implies?: ScopeImplications;
  /** Where roles are read by default. Default "roles". */
  rolesClaim?: string;
}

/** A `.` or `..` path segment: `files://public/../secret` may name another resource than it spells. */
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** Decides one component for one principal: every rule that selects it must be satisfied. */
export function decide(options: PolicyOptions, target: RuleTarget, principal: Principal | undefined): Decision {
  const decision = judge(options, target, principal);
  // Rules judge URIs as written: one whose meaning depends on resolving dot segments is never allowed (fail closed).
  if (decision.allow && target.uri !== undefined && DOT_SEGMENT.test(target.uri) && options.rules.some((rule) => rule.resources !== undefined)) {
    return { allow: false, hidden: false, missingScopes: [], reason: "its URI has a . or .. segment, which resource rules cannot judge" };
  }
  return decision;
}

function judge(options: PolicyOptions, target: RuleTarget, principal: Principal | undefined): Decision {
  const granted = expandScopes(principal?.scopes ?? [], options.implies);
  let selected = false;
  const missing = new Set<string>();
  let denied: string | undefined;
  for (const rule of options.rules) {
    if (!selects(rule, target)) continue;
    selected = true;
    const lacking = rule.scopes ? missingScopes(granted, rule.scopes) : [];
    const roleless = rule.roles !== undefined && !rolesOf(principal, rule.rolesClaim ?? options.rolesClaim ?? "roles").some((r) => rule.roles?.includes(r));
    const refused = rule.when !== undefined && !rule.when(principal, target);
    const unconditional = !rule.scopes && !rule.roles && !rule.when;
    if (!(unconditional || lacking.length || roleless || refused)) continue;
    if (rule.hide) return { allow: false, hidden: true };
    if (rule.deny || roleless || refused) denied ??= roleless ? "a role it needs is missing" : "a rule refuses it";
    else for (const scope of lacking) missing.add(scope);
  }
  if (!selected && options.default === "hide") return { allow: false, hidden: true };
  if (!selected && options.default === "deny") denied = "no rule allows it";
  if (denied) return { allow: false, hidden: false, missingScopes: [], reason: denied };
  if (missing.size) return { allow: false, hidden: false, missingScopes: [...missing], reason: "scopes are missing" };
  return { allow: true };
}
