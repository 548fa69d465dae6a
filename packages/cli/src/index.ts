export { main, VERSION, DEMO_SERVER_PATH, type CliIo } from "./main.js";
export {
  parseCliArgs,
  UsageError,
  USAGE,
  DEFAULTS,
  type CliCommand,
  type CliOptions,
  type CliBackend,
  type CliTransport,
  type CliLogLevel,
  type CliLogFormat,
} from "./args.js";
export { createDemoServer, DEMO_README } from "./demo-server.js";
