import { RELATED_TASK_META_KEY, type Notification, type Request } from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";

/** What the proxy keeps of one task a front session created. */
interface TaskEntry {
  backend: Backend;
  /** The last status seen (CreateTaskResult, tasks/get, tasks/cancel, notifications/tasks/status). */
  status: string;
  /** When the backend may drop the task (createdAt + ttl), if it said. */
  expiresAt: number | undefined;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
/** How many tasks one tenant's table remembers; the oldest are forgotten first. */
const MAX_TASKS = 10_000;
/** How many tenants' tables are kept; the least recently used is forgotten first. */
const MAX_TENANTS = 10_000;

/**
 * The tasks one tenant created (task-augmented `tools/call`), and which backend holds each:
 * `tasks/get`, `tasks/result` and `tasks/cancel` are routed by it, `tasks/list` shows only these on
 * a backend session others share, and it says whose a task's status notifications are.
 */
export class TaskTable {
  readonly #tasks = new Map<string, TaskEntry>();

  /** Records a task from a CreateTaskResult or any later view of it (a Task object). */
  observe(backend: Backend, task: unknown): void {
    if (!isTask(task)) return;
    const known = this.#tasks.get(task.taskId);
    if (known && known.backend !== backend) return; // another backend's task of the same id: the first keeps it
    const created = Date.parse(String(task.createdAt ?? ""));
    const expiresAt = typeof task.ttl === "number" && Number.isFinite(created) ? created + task.ttl : known?.expiresAt;
    if (!known && this.#tasks.size >= MAX_TASKS) this.#tasks.delete(this.#tasks.keys().next().value!);
    this.#tasks.set(task.taskId, { backend, status: String(task.status ?? known?.status ?? "working"), expiresAt });
  }

  /** Records a task created by a `tools/call` result, when the result is a CreateTaskResult. */
  created(backend: Backend, result: unknown): string | undefined {
    const task = (result as { task?: unknown } | undefined)?.task;
    if (!isTask(task)) return undefined;
    this.observe(backend, task);
    return task.taskId;
  }

  backendOf(taskId: string): Backend | undefined {
    return this.#tasks.get(taskId)?.backend;
  }

  owns(backend: Backend, taskId: string): boolean {
    return this.#tasks.get(taskId)?.backend === backend;
  }

  /** Whether `backend` holds a task of this session still running (not terminal, not expired): its session must stay open. */
  running(backend: Backend, now = Date.now()): boolean {
    for (const entry of this.#tasks.values()) {
      if (entry.backend === backend && !TERMINAL.has(entry.status) && (entry.expiresAt === undefined || entry.expiresAt > now)) return true;
    }
    return false;
  }

  /** Forgets the tasks held by a backend session that has closed (they went with it). */
  forget(backend: Backend): void {
    for (const [id, entry] of this.#tasks) if (entry.backend === backend) this.#tasks.delete(id);
  }
}

/**
 * Every tenant's tasks, by tenant id (`Tenant.id`). A table is made only when a tenant creates a
 * task: looking one up makes none, so callers that name tasks (anonymous stateless requests are
 * each a new tenant) cannot push out another tenant's table.
 */
export class TaskBook {
  readonly #tables = new Map<string, TaskTable>();

  /** The tenant's table, made on first use: for recording a task it created. */
  of(tenantId: string): TaskTable {
    let table = this.#tables.get(tenantId);
    if (table) {
      this.#tables.delete(tenantId); // re-inserted last: the map's order is the use order
    } else {
      table = new TaskTable();
      if (this.#tables.size >= MAX_TENANTS) this.#tables.delete(this.#tables.keys().next().value!);
    }
    this.#tables.set(tenantId, table);
    return table;
  }

  /** The tenant's table, if it created tasks. */
  find(tenantId: string): TaskTable | undefined {
    return this.#tables.get(tenantId);
  }

  /** Forgets a tenant that cannot come back (an anonymous session that ended). */
  drop(tenantId: string): void {
    this.#tables.delete(tenantId);
  }
}

/** The task a server→client message is about: a status notification's own, or the related task in `_meta`. */
export function taskOf(message: Notification | Request): string | undefined {
  const params = message.params as Record<string, unknown> | undefined;
  if (message.method === "notifications/tasks/status" && typeof params?.taskId === "string") return params.taskId;
  const related = (params?._meta as Record<string, { taskId?: unknown } | undefined> | undefined)?.[RELATED_TASK_META_KEY];
  return typeof related?.taskId === "string" ? related.taskId : undefined;
}

function isTask(value: unknown): value is { taskId: string; status?: unknown; ttl?: unknown; createdAt?: unknown } {
  return typeof value === "object" && value !== null && typeof (value as { taskId?: unknown }).taskId === "string";
}
