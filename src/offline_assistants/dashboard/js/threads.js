// Threads: newest first; one thread's messages, and its runs, each with its steps to expand
// (what the hosted Dashboard's logs showed). GET /v1/threads is this runtime's addition.
import { badge, confirmButton, h, replace, when } from "./dom.js";
import { messageView } from "./messages.js";
import { STEP_INCLUDE, stepView } from "./steps.js";

export async function render(root, ctx, params, id) {
  const [threads, assistants] = await Promise.all([
    ctx.api.get("/threads?order=desc&limit=50").then((page) => page.data),
    ctx.api.all("/assistants"),
  ]);
  ctx.assistantName = (assistantId) => assistants.find((a) => a.id === assistantId)?.name || assistantId || "Assistant";
  const chosen = id || threads[0]?.id;
  const detail = h("section", { id: "thread-detail" });
  replace(root, h("div", { class: "columns" },
    h("aside", {}, h("h1", {}, "Threads"),
      threads.length ? h("ul", { class: "list", id: "thread-list" }, threads.map((t) =>
        h("li", {}, h("button", {
          type: "button", class: "item", "aria-current": String(t.id === chosen),
          onclick: () => { location.hash = `#/threads/${t.id}`; },
        }, h("strong", {}, t.id), h("br"), h("span", { class: "muted small" }, when(t.created_at))))))
        : h("p", { class: "muted" }, "No threads yet: start one in the ", h("a", { href: "#/playground" }, "Playground"), ".")),
    detail));
  if (chosen) await showThread(detail, ctx, chosen);
}

async function showThread(root, ctx, threadId) {
  const [messages, runs] = await Promise.all([
    ctx.api.all(`/threads/${threadId}/messages`, "&order=asc"),
    ctx.api.all(`/threads/${threadId}/runs`, "&order=desc"),
  ]);
  const runViews = runs.map((run) => runView(run, ctx));
  // A citation whose run is collapsed opens that run's steps first.
  ctx.loadExcerpts = async (target) => {
    const view = runViews.find((v) => target.startsWith(`excerpt-${v.dataset.runId}-`));
    if (view) { view.open = true; await view.loaded; }
  };
  replace(root,
    h("div", { class: "row" }, h("h2", {}, threadId),
      h("a", { href: `#/playground?thread=${threadId}` }, "Continue in Playground"),
      confirmButton("Delete", async () => {
        try { await ctx.api.del(`/threads/${threadId}`); location.hash = "#/threads"; } catch (error) { ctx.notify(error); }
      })),
    h("h3", {}, "Messages"),
    h("div", { class: "messages" }, messages.length ? messages.map((m) => messageView(m, ctx)) : h("p", { class: "muted" }, "No messages.")),
    h("h3", {}, `Runs (${runs.length})`), runViews);
}

function runView(run, ctx) {
  const steps = h("div", { class: "run-steps" }, h("p", { class: "muted small" }, "Loading steps…"));
  const usage = run.usage ? ` · ${run.usage.total_tokens} tokens` : "";
  const end = run.completed_at || run.failed_at || run.cancelled_at;
  const view = h("details", { class: "card run", dataset: { runId: run.id } },
    h("summary", {}, badge(run.status), " ", run.id, h("span", { class: "muted small" },
      ` · ${ctx.assistantName(run.assistant_id)} · ${when(run.created_at)}${usage}${end && run.started_at ? ` · ${end - run.started_at} s` : ""}`)),
    run.last_error ? h("p", { class: "error-text" }, `${run.last_error.code}: ${run.last_error.message}`) : "",
    steps);
  let resolve;
  view.loaded = new Promise((r) => { resolve = r; });
  view.addEventListener("toggle", async () => {
    if (!view.open || view.dataset.loaded) return;
    view.dataset.loaded = "yes";
    try {
      const page = await ctx.api.get(`/threads/${run.thread_id}/runs/${run.id}/steps?order=asc&limit=100&${STEP_INCLUDE}`);
      replace(steps, page.data.length ? page.data.map((s) => stepView(s, { ...ctx, open: true, approve: approver(run, ctx) })) : h("p", { class: "muted small" }, "No steps."));
    } catch (error) { ctx.notify(error); }
    resolve();
  });
  return view;
}

// A conversation's run that waits for the user's approval of an MCP call: the page answers
// it as an app would, with an mcp_approval_response in the conversation's next response
// (a response chain has no conversation to name; its app answers with previous_response_id).
function approver(run, ctx) {
  if (run.status !== "requires_action" || !run.thread_id.startsWith("conv_")) return null;
  return async (call, approve) => {
    const request = `mcpr_${call.id.split("_").slice(1).join("_")}`;
    try {
      await ctx.api.post("/responses", {
        model: run.model,
        conversation: run.thread_id,
        input: [{ type: "mcp_approval_response", approval_request_id: request, approve }],
      });
      ctx.flash(approve ? "Approved: the call was made." : "Denied: the model was told.");
    } catch (error) { ctx.notify(error); }
    await ctx.refresh();
  };
}
