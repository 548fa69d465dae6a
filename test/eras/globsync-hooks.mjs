// Loader hooks for globsync-shim.mjs: "fs" and "node:fs" resolve to a synthetic module that
// re-exports the built-in and adds globSync when the running Node has none.
const SHIM = "fastmcp-proxy-shim:fs";

export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && !context.parentURL?.startsWith(SHIM)) return { url: SHIM, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url !== SHIM) return next(url, context);
  const source = `
import * as fs from "node:fs";
import { join, relative, sep } from "node:path";
export * from "node:fs";
export default fs.default;
function toRegExp(pattern) {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") { out += ".*"; i++; if (pattern[i + 1] === "/") i++; }
    else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^$|()[\\]{}\\\\]/g, "\\\\$&");
  }
  return new RegExp("^" + out + "$");
}
function walk(dir, root, found) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    found.push(relative(root, path).split(sep).join("/"));
    if (entry.isDirectory()) walk(path, root, found);
  }
}
export const globSync = fs.globSync ?? function globSync(patterns, options = {}) {
  const cwd = options.cwd ? String(options.cwd) : process.cwd();
  const all = [];
  if (fs.existsSync(cwd)) walk(cwd, cwd, all);
  const res = [].concat(patterns).map(toRegExp);
  return all.filter((p) => res.some((re) => re.test(p)));
};`;
  return { format: "module", source, shortCircuit: true };
}
