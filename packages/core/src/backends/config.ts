import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { ComponentRules } from "../components/rules.js";
import { ProxyError, ProxyErrorCode } from "../errors.js";
import { isSensitiveKey, redactValues } from "../logger.js";

/**
 * The `mcpServers` format of Claude Desktop, VS Code and FastMCP: each server is a command
 * (stdio) or a URL (streamable HTTP or SSE). Unknown fields are kept, so such files work unchanged.
 */
const timeout = z.number().int().positive().optional();

/** Tool names as the spec allows them: 1-128 of A-Z a-z 0-9 _ - . */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

const ArgumentRuleSchema = z.strictObject({
  hide: z.boolean().optional(),
  default: z.unknown().optional(),
  description: z.string().optional(),
});
const ToolRuleSchema = z.strictObject({
  name: z.string().regex(TOOL_NAME, 'may use only letters, digits, "_", "-" and ".", at most 128').optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  arguments: z.record(z.string(), ArgumentRuleSchema).optional(),
});
/** Filters and transforms, the same for every kind of server. */
const rules = {
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  tools: z.record(z.string(), ToolRuleSchema).optional(),
};

export const StdioServerSchema = z.looseObject({
  command: z.string().min(1, "must be a non-empty command"),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  transport: z.literal("stdio").optional(),
  type: z.literal("stdio").optional(),
  timeout,
  ...rules,
});

const remoteTransport = z.enum(["http", "streamable-http", "streamableHttp", "sse"], {
  error: 'must be "http", "streamable-http" or "sse"',
});

export const RemoteServerSchema = z.looseObject({
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  transport: remoteTransport.optional(),
  type: remoteTransport.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Which protocol era to speak: "legacy" (the default), "2026-07-28", or "auto" (asks with server/discover once, falls back to initialize). */
  protocol: z.enum(["auto", "legacy", "2026-07-28"], { error: 'must be "auto", "legacy" or "2026-07-28"' }).optional(),
  timeout,
  ...rules,
});

export type StdioServerConfig = z.infer<typeof StdioServerSchema>;
export type RemoteServerConfig = z.infer<typeof RemoteServerSchema>;
export type ServerConfig = StdioServerConfig | RemoteServerConfig;

export function isRemote(server: ServerConfig): server is RemoteServerConfig {
  return "url" in server;
}

export interface MCPConfig {
  mcpServers: Record<string, ServerConfig>;
  /** The front's auth section, for the auth package (kept as written, `${VAR}` expanded). */
  auth?: unknown;
  /** The cache section, for the caching package (kept as written, `${VAR}` expanded). */
  cache?: unknown;
}

/** Fields packages read (auth, cache) or that core honours before parsing (disabled): known, not core's schema. */
const PACKAGE_FIELDS = ["disabled", "auth", "cache"];
/** Fields other MCP clients write into these files, which the proxy does not act on: each is warned about. */
const IGNORED_FIELDS: Record<string, string> = {
  autoApprove: "tool calls are approved by the client, not the proxy",
  alwaysAllow: "tool calls are approved by the client, not the proxy",
  envFile: 'give the variables in "env" instead',
  description: "",
  name: "",
  gallery: "",
  version: "",
};
const OTHER_TOOLS_FIELDS = [...PACKAGE_FIELDS, ...Object.keys(IGNORED_FIELDS)];
const SERVER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A config object: Claude Desktop's `mcpServers`, or VS Code's `servers`. */
export function isMCPConfig(value: unknown): value is { mcpServers: unknown } | { servers: unknown } {
  return typeof value === "object" && value !== null && ("mcpServers" in value || "servers" in value);
}

export interface ParseOptions {
  env?: NodeJS.ProcessEnv;
  baseDir?: string;
  /** Told of fields that are probably typos ("did you mean ...?"). */
  onWarning?: (message: string) => void;
}

/**
 * Validates a config and expands `${VAR}` from `env` in every string. Errors name the server
 * and the field: `server "weather", field "url": must be an http:// or https:// URL`.
 */
export function parseConfig(input: unknown, options: ParseOptions = {}): MCPConfig {
  const env = options.env ?? process.env;
  const servers = isMCPConfig(input) ? ("mcpServers" in input ? input.mcpServers : input.servers) : undefined;
  if (typeof servers !== "object" || servers === null || Array.isArray(servers)) {
    throw configError('expected an object { "mcpServers": { "<name>": { "command": ... } | { "url": ... } } }');
  }
  const entries = Object.entries(servers as Record<string, unknown>);
  if (entries.length === 0) throw configError('"mcpServers" is empty: add at least one server');
  const mcpServers: Record<string, ServerConfig> = {};
  for (const [name, raw] of entries) {
    if (!SERVER_NAME.test(name)) throw configError(`server "${name}": a name may use only letters, digits, "_", "-" and ".", at most 64`);
    if (typeof raw !== "object" || raw === null) throw configError(`server "${name}": expected an object with "command" or "url"`);
    if ((raw as { disabled?: unknown }).disabled === true) continue;
    const schema = "url" in raw ? RemoteServerSchema : "command" in raw ? StdioServerSchema : undefined;
    if (!schema) throw configError(`server "${name}": needs "command" (a stdio server) or "url" (an HTTP or SSE server)`);
    for (const key of Object.keys(raw)) {
      if (key in IGNORED_FIELDS) {
        const why = IGNORED_FIELDS[key];
        options.onWarning?.(`config: server "${name}" has "${key}", which other MCP clients read; the proxy ignores it${why ? ` (${why})` : ""}`);
      }
      if (key in schema.shape || OTHER_TOOLS_FIELDS.includes(key)) continue;
      const near = closest(key, [...Object.keys(schema.shape), ...OTHER_TOOLS_FIELDS]);
      options.onWarning?.(`config: server "${name}" has an unknown field "${key}", which is ignored${near ? ` (did you mean "${near}"?)` : ""}`);
    }
    const parsed = schema.safeParse(expand(raw, env, name, []));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw configError(`server "${name}", field "${issue.path.map(String).join(".") || "(root)"}": ${issue.message}`);
    }
    const server = parsed.data as ServerConfig;
    if (!isRemote(server) && server.cwd && options.baseDir) server.cwd = resolve(options.baseDir, server.cwd);
    mcpServers[name] = server;
  }
  if (Object.keys(mcpServers).length === 0) throw configError('every server is "disabled": enable at least one');
  const config: MCPConfig = { mcpServers };
  const sections = input as { auth?: unknown; cache?: unknown };
  if (sections.auth !== undefined) config.auth = expand(sections.auth, env, "(auth)", []);
  if (sections.cache !== undefined) config.cache = expand(sections.cache, env, "(cache)", []);
  return config;
}

/** The candidate nearest to `word` (at most two edits away), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const ranked = candidates.map((c) => [distance(word.toLowerCase(), c.toLowerCase()), c] as const).sort((x, y) => x[0] - y[0]);
  return ranked[0] && ranked[0][0] <= 2 ? ranked[0][1] : undefined;
}

export function loadConfigFile(path: string, options: Omit<ParseOptions, "baseDir"> = {}): MCPConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw configError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw configError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseConfig(json, { ...options, baseDir: dirname(resolve(path)) });
  } catch (error) {
    throw configError(`${path}: ${(error as Error).message.replace(/^.*?Invalid config: /, "")}`);
  }
}

function configError(message: string): ProxyError {
  return new ProxyError(ProxyErrorCode.InvalidConfig, `Invalid config: ${message}`);
}

/**
 * `${VAR}`, `${VAR:-default}` and VS Code's `${env:VAR}` in any string value, so secrets stay out of
 * the file. VS Code's `${input:id}` asks the user in the editor: the proxy cannot, so it is refused.
 */
function expand(value: unknown, env: NodeJS.ProcessEnv, server: string, path: string[]): unknown {
  if (typeof value === "string") {
    const input = /\$\{input:([^}]*)\}/.exec(value);
    if (input) {
      const name = input[1]!.replace(/[^A-Za-z0-9]+/g, "_").replace(/^(?=\d)/, "_").toUpperCase();
      throw configError(
        `server "${server}", field "${path.join(".")}": \${input:${input[1]}} is a VS Code prompt, which the proxy cannot show: ` +
          `put the value in an environment variable (say ${name}) and write \${env:${name}} instead`,
      );
    }
    return value.replace(/\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      // As in a shell: `${VAR:-default}` gives the default when VAR is unset or empty.
      const found = fallback === undefined ? env[name] : env[name] || fallback;
      // A variable put into a header, an env or an auth section is a secret: no log line or error may
      // show it; so is one named for a credential (API_KEY, GITHUB_TOKEN) put into a command line or a URL.
      const secret = path[0] === "headers" || path[0] === "env" || server.startsWith("(") || ((path[0] === "args" || path[0] === "url") && isSensitiveKey(name));
      if (found !== undefined && fallback === undefined && secret) redactValues([found]);
      if (found === undefined) {
        throw configError(`server "${server}", field "${path.join(".")}": environment variable ${name} is not set (set it, or write \${${name}:-default})`);
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expand(item, env, server, [...path, String(i)]));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expand(item, env, server, [...path, key])]));
  }
  return value;
}
