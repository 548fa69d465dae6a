import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Where `fastmcp-proxy auth login <server>` keeps a backend's tokens by default. */
export function defaultTokenFile(backend: string): string {
  const base = process.env.FASTMCP_PROXY_CONFIG_DIR ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "fastmcp-proxy");
  return join(base, "tokens", `${backend.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}

/**
 * A JSON file only its owner can read or write (0600, in a 0700 folder), replaced atomically. The
 * folder's mode is enforced on every write (an existing one too); the temporary file has an
 * unguessable name and is created exclusively, never through a symlink.
 */
export class TokenFile<T extends object> {
  constructor(readonly path: string) {}

  read(): Partial<T> {
    try {
      const fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        return JSON.parse(readFileSync(fd, "utf8")) as Partial<T>;
      } finally {
        closeSync(fd);
      }
    } catch {
      return {};
    }
  }

  write(value: Partial<T>): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const folder = lstatSync(dir);
    if (!folder.isDirectory()) throw new Error(`${dir} must be a folder, not a link: it holds tokens`);
    if (typeof process.getuid === "function" && folder.uid !== process.getuid()) throw new Error(`${dir} belongs to another user: it holds tokens`);
    if ((folder.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
    const temp = `${this.path}.${randomBytes(12).toString("hex")}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, JSON.stringify(value, null, 2));
    } catch (error) {
      closeSync(fd);
      unlinkSync(temp);
      throw error;
    }
    closeSync(fd);
    renameSync(temp, this.path);
  }

  update(change: (value: Partial<T>) => Partial<T>): void {
    this.write(change(this.read()));
  }
}
