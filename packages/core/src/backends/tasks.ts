// The tasks/* methods: each tenant addresses and lists only the tasks it created, on every front.
import { ErrorCode, McpError, type ListTasksResult } from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";
import type { BackendRouter } from "../backends/router.js";
import { decodeCursor, encodeCursor } from "../components/pages.js";
import type { ProxyContext } from "../middleware/context.js";
import type { ResultOf } from "../methods.js";
import type { Call } from "../tenant.js";

type TaskMethod = "tasks/get" | "tasks/result" | "tasks/cancel";

/**
 * tasks/get, tasks/result and tasks/cancel, sent to the backend that created the task for this
 * tenant; a task it does not know goes to the one backend with tasks only when the tenant's backend
 * session there is its own (nobody else's task can be named through it).
 */
export async function forwardTask<M extends TaskMethod>(router: BackendRouter, candidates: readonly Backend[], ctx: ProxyContext<M> & Call): Promise<ResultOf<M>> {
  const taskId = String(ctx.params.taskId);
  const tasks = router.tasks.find(ctx.tenant.id);
  let backend = tasks?.backendOf(taskId);
  if (!backend && candidates.length === 1 && router.isPrivate(candidates[0]!, ctx)) backend = candidates[0];
  if (!backend) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
  const result = await ctx.forward(backend, ctx.method, ctx.params);
  if (ctx.method === "tasks/result") tasks?.observe(backend, { taskId, status: "completed" });
  else tasks?.observe(backend, result);
  return result;
}

/**
 * tasks/list: one backend's pages as they are; with several, one backend at a time, under cursors
 * the proxy mints (`{ backend index, backend cursor }`). Where the backend session is shared with
 * other tenants, only this tenant's own tasks are listed.
 */
export async function listTasks(router: BackendRouter, candidates: readonly Backend[], ctx: ProxyContext<"tasks/list"> & Call): Promise<ListTasksResult> {
  const params = ctx.params ?? {};
  if (candidates.length === 1) return listTasksOf(router, candidates[0]!, params, ctx);
  let at = { b: 0, c: undefined as string | undefined };
  if (params.cursor !== undefined) {
    const decoded = decodeCursor(params.cursor);
    const b = decoded?.b;
    if (decoded?.k !== "tasks" || typeof b !== "number" || !Number.isInteger(b) || b < 0 || b >= candidates.length) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid cursor for tasks/list: it is not one this proxy gave (list again without a cursor)`);
    }
    at = { b, c: typeof decoded.c === "string" ? decoded.c : undefined };
  }
  const { cursor: _, ...rest } = params;
  const page = await listTasksOf(router, candidates[at.b]!, at.c === undefined ? rest : { ...rest, cursor: at.c }, ctx);
  const next =
    page.nextCursor !== undefined ? { k: "tasks", b: at.b, c: page.nextCursor }
    : at.b + 1 < candidates.length ? { k: "tasks", b: at.b + 1 }
    : undefined;
  const { nextCursor: __, ...result } = page;
  return next ? { ...result, nextCursor: encodeCursor(next) } : result;
}

async function listTasksOf(router: BackendRouter, backend: Backend, params: object, ctx: ProxyContext<"tasks/list"> & Call): Promise<ListTasksResult> {
  const page = await ctx.forward(backend, "tasks/list", params);
  const tasks = router.tasks.find(ctx.tenant.id);
  const listed = Array.isArray(page.tasks) ? page.tasks : [];
  for (const task of listed) if (tasks?.owns(backend, task.taskId)) tasks.observe(backend, task);
  if (router.isPrivate(backend, ctx)) return page;
  return { ...page, tasks: listed.filter((task) => tasks?.owns(backend, task.taskId) === true) };
}
