// Assistants: a list, and a form to create or edit one (name, instructions, model from the
// GGUF files the server found, temperature, tools: Code Interpreter, file_search with vector
// stores or files to attach, functions with a JSON schema editor that says what is wrong).
import { confirmButton, h, replace } from "./dom.js";
import { checkFunction, functionTemplate } from "./schema.js";

export async function render(root, ctx, params, id) {
  const [assistants, models, stores, files] = await Promise.all([
    ctx.api.all("/assistants", "&order=desc"),
    ctx.api.get("/models").then((page) => page.data),
    ctx.api.all("/vector_stores", "&order=desc"),
    ctx.api.all("/files", "&order=desc"),
  ]);
  const chosen = id === "new" ? null : assistants.find((a) => a.id === id) || (id ? null : assistants[0]) || null;
  if (id && id !== "new" && !chosen) ctx.notify(new Error(`No assistant ${id}.`));
  const list = h("ul", { class: "list", id: "assistant-list" }, assistants.map((a) =>
    h("li", {}, h("button", {
      type: "button", class: "item", "aria-current": String(a.id === chosen?.id),
      onclick: () => { location.hash = `#/assistants/${a.id}`; },
    }, h("strong", {}, a.name || "(unnamed)"), h("br"),
    h("span", { class: "muted small" }, `${a.model} · ${a.tools.map(toolName).join(", ") || "no tools"}`)))));
  replace(root, h("div", { class: "columns" },
    h("aside", {}, h("h1", {}, "Assistants"),
      h("p", {}, h("button", { type: "button", id: "new-assistant", onclick: () => { location.hash = "#/assistants/new"; } }, "New assistant")),
      assistants.length ? list : h("p", { class: "muted" }, "None yet.")),
    new AssistantForm(ctx, chosen, { models, stores, files }).view));
}

function toolName(tool) {
  return tool.type === "function" ? tool.function.name : tool.type;
}

class AssistantForm {
  constructor(ctx, assistant, choices) {
    this.ctx = ctx;
    this.assistant = assistant;
    const a = assistant || { name: "", instructions: "", model: "default", temperature: 1, tools: [], tool_resources: {} };
    const has = (type) => a.tools.some((t) => t.type === type);
    const modelIds = choices.models.map((m) => m.id);
    if (!modelIds.includes(a.model)) modelIds.push(a.model);
    this.name = h("input", { id: "as-name", value: a.name || "", maxlength: "256" });
    this.instructions = h("textarea", { id: "as-instructions", value: a.instructions || "" });
    this.model = h("select", { id: "as-model" }, modelIds.map((m) => h("option", { value: m, selected: m === a.model }, m)));
    this.temperature = h("input", { id: "as-temperature", type: "number", min: "0", max: "2", step: "0.1", value: a.temperature ?? 1 });
    this.codeInterpreter = h("input", { id: "as-code-interpreter", type: "checkbox", checked: has("code_interpreter") });
    this.fileSearch = h("input", { id: "as-file-search", type: "checkbox", checked: has("file_search") });
    const attached = a.tool_resources?.file_search?.vector_store_ids || [];
    this.storeBoxes = choices.stores.map((s) => h("input", { type: "checkbox", value: s.id, checked: attached.includes(s.id), dataset: { name: s.name || "" } }));
    this.fileBoxes = choices.files.filter((f) => f.purpose === "assistants").map((f) => h("input", { type: "checkbox", value: f.id, dataset: { name: f.filename } }));
    this.functions = h("div", { id: "as-functions" });
    a.tools.filter((t) => t.type === "function").forEach((t) => this.addFunction(JSON.stringify(t.function, null, 2)));
    this.status = h("p", { role: "status", id: "as-status", class: "small" });
    this.view = this.layout(choices);
  }

  layout(choices) {
    const a = this.assistant;
    return h("form", { class: "card", id: "assistant-form", onsubmit: (e) => { e.preventDefault(); this.save(); } },
      h("h2", {}, a ? `Edit ${a.name || a.id}` : "New assistant"),
      a ? h("p", { class: "muted small" }, a.id, " · ", h("a", { href: `#/playground?assistant=${a.id}` }, "Open in Playground")) : "",
      h("label", {}, "Name ", this.name),
      h("label", {}, "Instructions", this.instructions),
      h("div", { class: "row" }, h("label", {}, "Model ", this.model), h("label", {}, "Temperature ", this.temperature)),
      h("fieldset", {}, h("legend", {}, "Tools"),
        h("label", { class: "inline" }, this.codeInterpreter, "Code Interpreter"),
        h("label", { class: "inline" }, this.fileSearch, "File search"),
        h("div", { class: "small" },
          this.storeBoxes.length ? ["Vector stores: ", this.storeBoxes.map((box) => h("label", { class: "inline" }, box, box.dataset.name || box.value))] : "",
          this.fileBoxes.length
            ? h("div", {}, "Attach files (a new vector store): ", this.fileBoxes.map((box) => h("label", { class: "inline" }, box, box.dataset.name)))
            : h("p", { class: "muted" }, "Upload files on the ", h("a", { href: "#/files" }, "Files"), " page to search them.")),
        h("h3", {}, "Functions"), this.functions,
        h("button", { type: "button", class: "quiet", id: "as-add-function", onclick: () => this.addFunction(functionTemplate()).focus() }, "Add function")),
      h("menu", {}, h("button", { type: "submit", id: "as-save" }, a ? "Save" : "Create"),
        a ? confirmButton("Delete", () => this.remove()) : ""),
      this.status);
  }

  addFunction(text) {
    const editor = h("textarea", { class: "json function-schema", rows: "10", spellcheck: "false", "aria-label": "Function (JSON)", value: text });
    const verdict = h("p", { class: "small schema-verdict", role: "status" });
    const check = () => {
      const problem = checkFunction(editor.value);
      replace(verdict, problem ? h("span", { class: "error-text" }, problem) : h("span", { class: "ok-text" }, "Valid function."));
      editor.setAttribute("aria-invalid", String(Boolean(problem)));
      return problem;
    };
    editor.addEventListener("input", check);
    const box = h("div", { class: "function-editor" }, editor, verdict,
      h("button", { type: "button", class: "quiet small", onclick: () => box.remove() }, "Remove function"));
    box.check = check;
    box.editor = editor;
    box.verdict = verdict;
    this.functions.append(box);
    check();
    return editor;
  }

  async payload() {
    const tools = [];
    if (this.codeInterpreter.checked) tools.push({ type: "code_interpreter" });
    if (this.fileSearch.checked) tools.push({ type: "file_search" });
    const editors = [...this.functions.children];
    const wrong = editors.find((box) => box.check());
    if (wrong) { wrong.editor.focus(); throw new Error(`Fix the function first: ${wrong.check()}`); }
    this.functionBase = tools.length;
    editors.forEach((box) => tools.push({ type: "function", function: JSON.parse(box.editor.value) }));
    const storeIds = this.storeBoxes.filter((b) => b.checked).map((b) => b.value);
    const fileIds = this.fileBoxes.filter((b) => b.checked).map((b) => b.value);
    if (this.fileSearch.checked && fileIds.length) {
      const store = await this.ctx.api.post("/vector_stores", { name: `${this.name.value || "assistant"} files`, file_ids: fileIds });
      storeIds.push(store.id);
    }
    return {
      name: this.name.value, instructions: this.instructions.value, model: this.model.value,
      temperature: Number(this.temperature.value), tools,
      tool_resources: { file_search: { vector_store_ids: this.fileSearch.checked ? storeIds : [] } },
    };
  }

  async save() {
    replace(this.status);
    try {
      const body = await this.payload();
      const saved = this.assistant
        ? await this.ctx.api.post(`/assistants/${this.assistant.id}`, body)
        : await this.ctx.api.post("/assistants", body);
      this.ctx.flash(`Saved ${saved.name || saved.id}.`);
      if (location.hash === `#/assistants/${saved.id}`) this.ctx.refresh();
      else location.hash = `#/assistants/${saved.id}`;
    } catch (error) {
      this.showFunctionError(error);
      this.ctx.notify(error);
    }
  }

  // A server error about tools[i] is shown under that function's editor too.
  showFunctionError(error) {
    const match = /^tools\[(\d+)\]/.exec(error.param || "");
    const box = match && this.functions.children[Number(match[1]) - (this.functionBase || 0)];
    if (box) replace(box.verdict, h("span", { class: "error-text" }, error.message));
  }

  async remove() {
    try {
      await this.ctx.api.del(`/assistants/${this.assistant.id}`);
      this.ctx.flash(`Deleted ${this.assistant.name || this.assistant.id}.`);
      location.hash = "#/assistants";
    } catch (error) { this.ctx.notify(error); }
  }
}
