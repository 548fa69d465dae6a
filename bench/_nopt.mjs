process.env.NO_PT = "1";
await import("./proxy-server.mjs");
