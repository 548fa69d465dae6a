import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { globMatcher } from "./glob.js";

/** How one argument of a tool is shown to clients. */
export interface ArgumentRule {
  /** Removed from the schema clients see; the backend still gets it (with `default`, when given). */
  hide?: boolean;
  /** Sent to the backend when the client gives none; with `hide`, always sent. */
  default?: unknown;
  description?: string;
}

/** How one tool is shown to clients. The backend is always called with its own name and full arguments. */
export interface ToolRule {
  name?: string;
  title?: string;
  description?: string;
  arguments?: Record<string, ArgumentRule>;
}

/**
 * What of a backend clients see. `include`/`exclude` are names or globs (`globMatcher`'s) matched
 * against the backend's own tool and prompt names and resource and template URIs; exclude wins.
 */
export interface ComponentRules {
  include?: string[];
  exclude?: string[];
  /** Per tool, by the backend's own name. */
  tools?: Record<string, ToolRule>;
}

export function isVisible(rules: ComponentRules | undefined, name: string): boolean {
  if (!rules) return true;
  if (rules.include && !globMatcher(rules.include)(name)) return false;
  return !(rules.exclude && globMatcher(rules.exclude)(name));
}

type JsonSchemaObject = { properties?: Record<string, Record<string, unknown>>; required?: string[]; [key: string]: unknown };

/** The tool definition clients see under a rule: overrides applied, hidden arguments removed. */
export function shownTool(definition: Tool, rule: ToolRule | undefined): Tool {
  if (!rule) return definition;
  const shown: Tool = { ...definition };
  if (rule.title !== undefined) shown.title = rule.title;
  if (rule.description !== undefined) shown.description = rule.description;
  if (rule.arguments) {
    const schema = definition.inputSchema as JsonSchemaObject;
    const properties = { ...schema.properties };
    let required = schema.required ?? [];
    for (const [arg, argRule] of Object.entries(rule.arguments)) {
      if (argRule.hide) {
        delete properties[arg];
        required = required.filter((r) => r !== arg);
        continue;
      }
      if (properties[arg] && (argRule.description !== undefined || argRule.default !== undefined)) {
        properties[arg] = {
          ...properties[arg],
          ...(argRule.description !== undefined && { description: argRule.description }),
          ...(argRule.default !== undefined && { default: argRule.default }),
        };
      }
      // A default makes the argument optional for clients.
      if (argRule.default !== undefined) required = required.filter((r) => r !== arg);
    }
    shown.inputSchema = { ...schema, properties, ...(required.length > 0 ? { required } : {}) } as Tool["inputSchema"];
    if (required.length === 0) delete (shown.inputSchema as JsonSchemaObject).required;
  }
  return shown;
}

/** The arguments the backend gets: the client's, with defaults filled and hidden ones fixed. */
export function backendArguments(rule: ToolRule | undefined, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!rule?.arguments) return args;
  const out: Record<string, unknown> = { ...args };
  for (const [arg, argRule] of Object.entries(rule.arguments)) {
    if (argRule.hide) {
      if (argRule.default === undefined) delete out[arg];
      else out[arg] = argRule.default;
    } else if (argRule.default !== undefined && out[arg] === undefined) {
      out[arg] = argRule.default;
    }
  }
  return out;
}
