import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Where `fastmcp-proxy auth login <server>` keeps a backend's tokens by default. */
export function defaultTokenFile(backend: string): string {
  const base = process.env.FASTMCP_PROXY_CONFIG_DIR ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "fastmcp-proxy");
  return join(base, "tokens", `${backend.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}

/** A JSON file only its owner can read or write (0600, in a 0700 folder), replaced atomically. */
export class TokenFile<T extends object> {
  constructor(readonly path: string) {}

  read(): Partial<T> {
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as Partial<T>;
    } catch {
      return {};
    }
  }

  write(value: Partial<T>): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.path);
  }

  update(change: (value: Partial<T>) => Partial<T>): void {
    this.write(change(this.read()));
  }
}
