import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TokenFile } from "./token-file.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "token-file-"));
  dirs.push(dir);
  return dir;
};

describe("TokenFile", () => {
  it("tightens an existing folder with a loose mode to 0700, and writes 0600", () => {
    const dir = join(scratch(), "tokens");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = new TokenFile<{ a: number }>(join(dir, "api.json"));
    file.write({ a: 1 });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(file.read()).toEqual({ a: 1 });
  });

  it("never writes through a symlink planted where a temporary file would be, nor leaves one behind", () => {
    const root = scratch();
    const dir = join(root, "tokens");
    mkdirSync(dir, { mode: 0o700 });
    const victim = join(root, "victim.txt");
    writeFileSync(victim, "untouched");
    const path = join(dir, "api.json");
    // The names a predictable temp file would have had.
    for (const name of [`${path}.${process.pid}.tmp`, `${path}.tmp`]) symlinkSync(victim, name);
    new TokenFile<{ secret: string }>(path).write({ secret: "s" });
    expect(readFileSync(victim, "utf8")).toBe("untouched");
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp") && !lstatSync(join(dir, n)).isSymbolicLink())).toEqual([]);
  });

  it("refuses a token folder that is a symlink, and does not read a token file through one", () => {
    const root = scratch();
    mkdirSync(join(root, "elsewhere"));
    symlinkSync(join(root, "elsewhere"), join(root, "tokens"));
    expect(() => new TokenFile(join(root, "tokens", "api.json")).write({})).toThrow(/must be a folder, not a link/);
    writeFileSync(join(root, "real.json"), JSON.stringify({ a: 1 }));
    symlinkSync(join(root, "real.json"), join(root, "link.json"));
    expect(new TokenFile(join(root, "link.json")).read()).toEqual({});
  });
});
