import { expect } from "vitest";
import { UsageError, parseCliArgs } from "@fastmcp-proxy/cli";

/** The UsageError message a command line is refused with. */
export function refused(...argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}
