// Node 20 lacks fs.globSync (added in Node 22), which conformance 0.2 imports by name. Loaded with
// `node --import ./globsync-shim.mjs`, this registers a loader hook that serves "fs"/"node:fs" as the
// real module plus a small globSync (the few patterns the suite uses: **, *, literal segments).
import { register } from "node:module";

register(new URL("./globsync-hooks.mjs", import.meta.url));
