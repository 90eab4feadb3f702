// The Playground: pick an assistant, send a message, watch the run's events stream in
// (text token by token, tool steps live), answer function calls, cancel; status, usage
// and timings beside it. The events are the SDK event handler's: thread.run.*,
// thread.run.step.*, thread.message.*, error, done.
import { badge, h, replace } from "./dom.js";
import { fillMessage, messageView } from "./messages.js";
import { fillStep, pretty, STEP_INCLUDE, stepView } from "./steps.js";

const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);

export async function render(root, ctx, params) {
  const assistants = await ctx.api.all("/assistants", "&order=desc");
  if (!assistants.length) {
    replace(root, h("h1", {}, "Playground"),
      h("p", {}, "No assistants yet. ", h("a", { href: "#/assistants/new" }, "Create one"), " first."));
    return;
  }
  const session = new PlaygroundSession(ctx, assistants, params);
  replace(root, session.layout());
  if (params.get("thread")) await session.openThread(params.get("thread"));
  session.input.focus();
}

class PlaygroundSession {
  constructor(ctx, assistants, params) {
    this.ctx = ctx;
    this.assistants = assistants;
    this.thread = null;
    this.run = null;
    this.live = { messages: new Map(), steps: new Map() };
    this.ctx.assistantName = (id) => assistants.find((a) => a.id === id)?.name || "Assistant";
    const chosen = params.get("assistant") || assistants[0].id;
    this.assistantSelect = h("select", { id: "pg-assistant" },
      assistants.map((a) => h("option", { value: a.id, selected: a.id === chosen }, `${a.name || "(unnamed)"} · ${a.id}`)));
    this.maxTokens = h("input", { id: "pg-max-tokens", type: "number", min: "1", placeholder: "no limit", value: params.get("max_tokens") || "" });
    this.toolChoice = h("select", { id: "pg-tool-choice" }, ["auto", "required", "none"].map((c) => h("option", { value: c }, c)));
    this.threadLabel = h("span", { id: "pg-thread", class: "muted small" }, "a new thread starts with your first message");
    this.messages = h("div", { class: "messages", id: "pg-messages", "aria-live": "polite" });
    this.action = h("div", { id: "pg-action" });
    this.steps = h("div", { id: "pg-steps" });
    this.events = h("ol", { class: "small muted", id: "pg-events" });
    this.input = h("textarea", { id: "pg-input", placeholder: "Message (Ctrl+Enter sends)", "aria-label": "Message" });
    this.input.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) this.send(); });
    this.sendButton = h("button", { type: "button", id: "pg-send", onclick: () => this.send() }, "Send");
    this.cancelButton = h("button", { type: "button", id: "pg-cancel", class: "quiet", disabled: true, onclick: () => this.cancel() }, "Cancel run");
    this.panel = h("div", { id: "pg-run" }, h("p", { class: "muted" }, "No run yet."));
  }

  layout() {
    return h("div", { class: "columns" },
      h("aside", {},
        h("div", { class: "card" },
          h("h1", {}, "Playground"),
          h("label", {}, "Assistant ", this.assistantSelect),
          h("p", { class: "small" }, h("a", { href: "#/assistants", onclick: (e) => { e.preventDefault(); location.hash = `#/assistants/${this.assistantSelect.value}`; } }, "Edit this assistant")),
          h("label", {}, "Max completion tokens ", this.maxTokens),
          h("label", {}, "Tool choice ", this.toolChoice),
          h("p", {}, "Thread: ", this.threadLabel),
          h("button", { type: "button", class: "quiet", id: "pg-new-thread", onclick: () => this.newThread() }, "New thread")),
        h("div", { class: "card run-panel" }, h("h2", {}, "Run"), this.panel, this.cancelButton,
          h("details", {}, h("summary", {}, "Events"), this.events)),
        this.mcpServers()),
      h("section", {}, this.messages, this.action,
        h("div", { class: "compose" }, this.input, this.sendButton),
        h("h2", {}, "Steps"), this.steps));
  }

  // The MCP servers declared to the runtime (serve --mcp, --mcp-config): what a Responses
  // request's mcp tool names by server_label. Shown only where there are some.
  mcpServers() {
    const card = h("div", { class: "card", id: "pg-mcp", hidden: true });
    this.ctx.api.get("/mcp/servers").then((page) => {
      if (!page.data.length) return;
      replace(card, h("h2", {}, "MCP servers"),
        h("p", { class: "muted small" }, "For Responses requests: tools=[{type: \"mcp\", server_label: …}]"),
        h("ul", { class: "list" }, page.data.map((server) => h("li", { dataset: { label: server.label } },
          h("strong", {}, server.label), " ",
          h("span", { class: "muted small" }, server.transport === "stdio"
            ? `stdio · ${server.running ? "running" : "starts on first use"} · ${server.command}`
            : `${server.transport} · ${server.url}`)))));
      card.hidden = false;
    }).catch((error) => this.ctx.notify(error));
    return card;
  }

  newThread() {
    this.thread = null;
    replace(this.threadLabel, "a new thread starts with your first message");
    replace(this.messages); replace(this.steps); replace(this.action); replace(this.events);
    replace(this.panel, h("p", { class: "muted" }, "No run yet."));
    this.input.focus();
  }

  async openThread(threadId) {
    this.thread = await this.ctx.api.get(`/threads/${threadId}`);
    replace(this.threadLabel, h("a", { href: `#/threads/${threadId}` }, threadId));
    const messages = await this.ctx.api.all(`/threads/${threadId}/messages`, "&order=asc");
    replace(this.messages, messages.map((m) => messageView(m, this.ctx)));
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || this.sendButton.disabled) return;
    this.setBusy(true);
    try {
      if (!this.thread) {
        this.thread = await this.ctx.api.post("/threads", {});
        replace(this.threadLabel, h("a", { href: `#/threads/${this.thread.id}` }, this.thread.id));
      }
      const message = await this.ctx.api.post(`/threads/${this.thread.id}/messages`, { role: "user", content: text });
      this.messages.append(messageView(message, this.ctx));
      this.input.value = "";
      const body = { assistant_id: this.assistantSelect.value, tool_choice: this.toolChoice.value };
      if (this.maxTokens.value) body.max_completion_tokens = Number(this.maxTokens.value);
      replace(this.steps); replace(this.events);
      this.run = null;
      await this.follow(this.ctx.api.stream(`/threads/${this.thread.id}/runs`, body));
    } catch (error) {
      this.ctx.notify(error);
    } finally {
      this.setBusy(this.run && ACTIVE.has(this.run.status) && this.run.status !== "requires_action");
    }
  }

  setBusy(busy) {
    this.sendButton.disabled = Boolean(busy);
    this.cancelButton.disabled = !(this.run && ACTIVE.has(this.run.status));
  }

  // Timings are per stream: a run resumed after tool outputs is timed from the submit.
  async follow(events) {
    const before = this.run?.usage?.completion_tokens || 0;
    this.timing = { start: performance.now(), first: null, end: null, before };
    for await (const { event, data } of events) {
      if (!this.timing.first && generated(event, data)) this.timing.first = performance.now();
      this.logEvent(event);
      if (event.startsWith("thread.run.step.")) await this.onStep(event, data);
      else if (event.startsWith("thread.run.")) this.onRun(data);
      else if (event.startsWith("thread.message.")) this.onMessage(event, data);
      else if (event === "error") this.ctx.notify(Object.assign(new Error(data.message || "The run's stream failed."), data));
    }
    this.timing.end = performance.now();
    this.showRun();
  }

  logEvent(event) {
    const last = this.events.lastElementChild;
    if (last && last.dataset.event === event) {
      last.dataset.count = Number(last.dataset.count) + 1;
      last.textContent = `${event} ×${last.dataset.count}`;
    } else {
      this.events.append(h("li", { dataset: { event, count: 1 } }, event));
    }
  }

  onRun(run) {
    this.run = run;
    this.showRun();
    replace(this.action);
    if (run.status === "requires_action") this.showAction(run);
    this.cancelButton.disabled = !ACTIVE.has(run.status);
  }

  showRun() {
    const run = this.run;
    if (!run) return;
    const t = this.timing || {};
    const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
    const rows = [["Run", run.id], ["Status", badge(run.status)]];
    if (run.usage) rows.push(["Usage", `${run.usage.prompt_tokens} prompt + ${run.usage.completion_tokens} completion = ${run.usage.total_tokens} tokens`]);
    if (t.first) rows.push(["First token", seconds(t.first - t.start)]);
    if (t.end) rows.push(["Total", seconds(t.end - t.start)]);
    const streamed = (run.usage?.completion_tokens || 0) - (t.before || 0);
    if (t.end && t.first && streamed > 1 && t.end > t.first) {
      rows.push(["Speed", `${(streamed / ((t.end - t.first) / 1000)).toFixed(1)} tokens/s`]);
    }
    if (run.last_error) rows.push(["Error", h("span", { class: "error-text" }, `${run.last_error.code}: ${run.last_error.message}`)]);
    if (run.incomplete_details) rows.push(["Incomplete", run.incomplete_details.reason]);
    replace(this.panel, h("dl", { id: "pg-run-details", dataset: { status: run.status } }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  }

  onMessage(event, data) {
    if (event === "thread.message.delta") {
      const live = this.live.messages.get(data.id);
      if (!live) return;
      for (const part of data.delta.content || []) mergeContent(live.message, part);
      fillMessage(live.view, live.message, this.ctx);
      return;
    }
    let live = this.live.messages.get(data.id);
    if (!live) {
      live = { message: data, view: messageView(data, this.ctx) };
      this.live.messages.set(data.id, live);
      this.messages.append(live.view);
    }
    live.message = data;
    fillMessage(live.view, data, this.ctx);
  }

  async onStep(event, data) {
    if (event === "thread.run.step.delta") {
      const live = this.live.steps.get(data.id);
      if (!live) return;
      mergeStep(live.step, data.delta.step_details);
      fillStep(live.body, live.step, this.ctx);
      return;
    }
    let step = data;
    if (event === "thread.run.step.completed" && hasSearch(step)) {
      step = await this.ctx.api.get(`/threads/${step.thread_id}/runs/${step.run_id}/steps/${step.id}?${STEP_INCLUDE}`);
    }
    const old = this.live.steps.get(step.id);
    // Search results are long: their step opens when a citation is followed.
    const view = stepView(step, { ...this.ctx, open: !hasSearch(step) });
    if (old) old.view.replaceWith(view); else this.steps.append(view);
    this.live.steps.set(step.id, { step: structuredClone(step), view, body: view.querySelector(".step-body") });
  }

  showAction(run) {
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    const outputs = calls.map((call) => h("textarea", { class: "json tool-output", "aria-label": `Output of ${call.function.name}`, dataset: { callId: call.id } }));
    const submit = h("button", { type: "button", id: "pg-submit-outputs" }, "Submit outputs");
    submit.addEventListener("click", async () => {
      submit.disabled = true;
      const toolOutputs = calls.map((call, i) => ({ tool_call_id: call.id, output: outputs[i].value }));
      try {
        this.setBusy(true);
        await this.follow(this.ctx.api.stream(`/threads/${run.thread_id}/runs/${run.id}/submit_tool_outputs`, { tool_outputs: toolOutputs }));
      } catch (error) {
        submit.disabled = false;
        this.ctx.notify(error);
      } finally {
        this.setBusy(this.run && ACTIVE.has(this.run.status) && this.run.status !== "requires_action");
      }
    });
    replace(this.action, h("div", { class: "card action" },
      h("h2", {}, "The assistant called a function"),
      calls.map((call, i) => [
        h("h3", {}, call.function.name), h("pre", { class: "arguments" }, pretty(call.function.arguments)),
        h("label", {}, "Output", outputs[i])]),
      submit));
    outputs[0].focus();
  }

  async cancel() {
    if (!this.run) return;
    this.cancelButton.disabled = true;
    try {
      const run = await this.ctx.api.post(`/threads/${this.run.thread_id}/runs/${this.run.id}/cancel`);
      // The stream may have told the run's end before this reply came: keep the end.
      if (this.run?.id === run.id && !ACTIVE.has(this.run.status)) return;
      this.onRun(run);
    } catch (error) { this.ctx.notify(error); }
  }
}

// Whether an event carries tokens the model generated: answer text, code or call arguments.
function generated(event, data) {
  if (event === "thread.message.delta") return true;
  if (event !== "thread.run.step.delta") return false;
  return (data.delta.step_details?.tool_calls || []).some((c) => c.code_interpreter?.input || c.function?.arguments);
}

function hasSearch(step) {
  return step.step_details.type === "tool_calls" && step.step_details.tool_calls.some((c) => c.type === "file_search");
}

// Deltas carry an index per content part / tool call; text and arguments arrive in pieces.
function mergeContent(message, part) {
  const target = message.content[part.index];
  if (!target) {
    const fresh = structuredClone(part);
    delete fresh.index;
    if (fresh.text) fresh.text = { value: fresh.text.value || "", annotations: fresh.text.annotations || [] };
    message.content[part.index] = fresh;
    return;
  }
  if (part.text) {
    target.text.value += part.text.value || "";
    target.text.annotations.push(...(part.text.annotations || []));
  }
}

function mergeStep(step, delta) {
  if (!delta || delta.type !== "tool_calls") return;
  const calls = step.step_details.tool_calls || (step.step_details.tool_calls = []);
  for (const piece of delta.tool_calls || []) {
    const call = calls[piece.index];
    if (!call) {
      const fresh = structuredClone(piece);
      delete fresh.index;
      if (fresh.code_interpreter) fresh.code_interpreter = { input: fresh.code_interpreter.input || "", outputs: fresh.code_interpreter.outputs || [] };
      calls[piece.index] = fresh;
    } else if (piece.code_interpreter) {
      call.code_interpreter.input += piece.code_interpreter.input || "";
      call.code_interpreter.outputs.push(...(piece.code_interpreter.outputs || []));
    } else if (piece.function) {
      call.function.arguments += piece.function.arguments || "";
      if (piece.function.output != null) call.function.output = piece.function.output;
    }
  }
}
