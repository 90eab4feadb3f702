// A run step as the hosted Dashboard's logs showed it: a message made, or tool calls with
// their inputs and outputs (code and logs, images inline, search excerpts, function
// arguments and outputs, an MCP call's server, approval and error), and a reasoning
// model's reasoning folded above them (its summary, if any, on the fold). Used by the
// Playground (live) and the Threads page (history).
import { badge, h, replace } from "./dom.js";

export const STEP_INCLUDE = "include[]=step_details.tool_calls[*].file_search.results[*].content";

export function excerptId(runId, rank) {
  return `excerpt-${runId}-${rank}`;
}

// The step as a <details> element; ctx.api loads images.
export function stepView(step, ctx) {
  const body = h("div", { class: "step-body" });
  const view = h("details", { class: "step card", open: ctx.open, dataset: { stepId: step.id } },
    h("summary", {}, stepTitle(step), " ", badge(step.status), duration(step)),
    body);
  fillStep(body, step, ctx);
  return view;
}

export function fillStep(body, step, ctx) {
  replace(body);
  const details = step.step_details;
  // A reasoning model's reasoning before the message or the calls: kept folded, under
  // its summary where the model wrote one (Responses' reasoning.summary).
  const reasoning = (details.reasoning?.content || []).map((part) => part.text).join("");
  const gist = (details.reasoning?.summary || []).map((part) => part.text).join(" ");
  if (reasoning) {
    body.append(h("details", { class: "reasoning" },
      h("summary", { class: "muted small" }, gist ? `Reasoning: ${gist}` : "Reasoning"),
      h("pre", { class: "reasoning-text" }, reasoning)));
  }
  if (details.type === "message_creation") {
    body.append(h("p", { class: "muted small" }, `Wrote message ${details.message_creation.message_id}.`));
  } else {
    details.tool_calls.forEach((call, index) => body.append(toolCallView(call, index, step, ctx)));
  }
  if (step.last_error) body.append(h("p", { class: "error-text" }, `${step.last_error.code}: ${step.last_error.message}`));
  if (step.usage?.total_tokens) {
    body.append(h("p", { class: "muted small" },
      `${step.usage.prompt_tokens} prompt + ${step.usage.completion_tokens} completion tokens` +
      (step.usage.completion_tokens_details ? ` (${step.usage.completion_tokens_details.reasoning_tokens} reasoning)` : "")));
  }
}

function stepTitle(step) {
  const details = step.step_details;
  if (details.type === "message_creation") return "Message";
  const kinds = details.tool_calls.map((call) => {
    if (call.type !== "function") return call.type;
    return call.mcp ? `MCP ${call.mcp.server_label} ${call.function.name}` : `function ${call.function.name}`;
  });
  return `Tool calls: ${kinds.join(", ") || "…"}`;
}

function duration(step) {
  const end = step.completed_at || step.failed_at || step.cancelled_at;
  return end ? h("span", { class: "muted small" }, ` ${end - step.created_at} s`) : "";
}

function toolCallView(call, index, step, ctx) {
  const box = h("div", { class: "tool-call", dataset: { callIndex: index, callType: call.type } });
  if (call.type === "code_interpreter") {
    const ci = call.code_interpreter;
    box.append(h("h3", {}, "Code"), h("pre", { class: "code-input" }, ci.input || ""));
    for (const output of ci.outputs || []) {
      if (output.type === "logs") box.append(h("h3", {}, "Output"), h("pre", { class: "logs" }, output.logs));
      else if (output.type === "image") box.append(imageView(output.image.file_id, ctx));
    }
  } else if (call.type === "file_search") {
    const results = call.file_search?.results || [];
    box.append(h("h3", {}, `Search results (${results.length})`));
    results.forEach((result, rank) => box.append(excerptView(step.run_id, rank, result)));
  } else if (call.type === "function") {
    // A response's MCP tool: the runtime called the user's MCP server (server label kept beside it).
    const mcp = call.mcp;
    const title = mcp ? `${mcp.server_label} · ${call.function.name}(…)` : `${call.function.name}(…)`;
    box.append(h("h3", {}, title), h("pre", { class: "arguments" }, pretty(call.function.arguments)));
    if (mcp?.approval) box.append(h("p", { class: "muted small mcp-approval" }, APPROVAL[mcp.approval] || mcp.approval));
    if (mcp?.approval === "requested" && ctx.approve) {
      box.append(h("div", { class: "row" },
        h("button", { type: "button", class: "mcp-approve", onclick: () => ctx.approve(call, true) }, "Approve"),
        h("button", { type: "button", class: "quiet mcp-deny", onclick: () => ctx.approve(call, false) }, "Deny")));
    }
    if (mcp?.error) {
      box.append(h("h3", {}, "Error"), h("pre", { class: "logs mcp-error" }, mcpError(mcp.error)));
    } else if (call.function.output !== null && call.function.output !== undefined) {
      box.append(h("h3", {}, "Output"), h("pre", { class: "logs function-output" }, call.function.output));
    }
  }
  return box;
}

const APPROVAL = {
  requested: "Waiting for the user's approval (an mcp_approval_response answers it)",
  approved: "Approved by the user",
  denied: "Denied by the user: the call was not made",
};

function mcpError(error) {
  if (error.message) return error.message;
  return (error.content || []).map((part) => part.text || "").join("\n") || error.type;
}

function excerptView(runId, rank, result) {
  const text = (result.content || []).map((part) => part.text).join("\n");
  return h("div", { class: "excerpt", id: excerptId(runId, rank), tabindex: "-1" },
    h("strong", {}, `[${rank}] ${result.file_name}`),
    h("span", { class: "muted small" }, ` score ${Number(result.score).toFixed(3)}`),
    text ? h("blockquote", {}, text) : "");
}

export function imageView(fileId, ctx) {
  const img = h("img", { alt: `image ${fileId}`, dataset: { fileId } });
  ctx.api.fileUrl(fileId).then((url) => { img.src = url; }, ctx.notify);
  return img;
}

export function pretty(json) {
  try { return JSON.stringify(JSON.parse(json), null, 2); } catch (_) { return json; }
}
