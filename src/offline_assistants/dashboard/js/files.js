// Files and vector stores: upload by drag and drop (or a file picker), delete; vector stores
// with each file's ingestion status and its failure reason, refreshed while work goes on.
import { badge, bytes, confirmButton, h, replace, when } from "./dom.js";

const REFRESH_MS = 1000;

export async function render(root, ctx) {
  const [files, stores] = await Promise.all([ctx.api.all("/files", "&order=desc"), ctx.api.all("/vector_stores", "&order=desc")]);
  const storeFiles = await Promise.all(stores.map((s) => ctx.api.all(`/vector_stores/${s.id}/files`, "&order=asc")));
  const picker = h("input", { type: "file", id: "file-input", multiple: true, class: "visually-hidden" });
  const upload = async (list) => {
    for (const file of list) {
      try { await ctx.api.upload(file); ctx.flash(`Uploaded ${file.name}.`); } catch (error) { ctx.notify(error); }
    }
    ctx.refresh();
  };
  picker.addEventListener("change", () => upload([...picker.files]));
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    h("p", {}, "Drop files here, or ", h("label", { class: "inline" }, h("u", {}, "choose files"), picker)),
    h("p", { class: "muted small" }, "PDF, text, Markdown, code, CSV… (purpose: assistants)"));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); upload([...e.dataTransfer.files]); });
  const names = new Map(files.map((f) => [f.id, f.filename]));
  replace(root,
    h("h1", {}, "Files and vector stores"), zone,
    h("h2", {}, `Files (${files.length})`),
    files.length ? fileTable(files, ctx) : h("p", { class: "muted" }, "No files yet."),
    h("h2", {}, `Vector stores (${stores.length})`),
    newStoreForm(files, ctx),
    stores.map((store, i) => storeView(store, storeFiles[i], names, files, ctx)));
  const busy = stores.some((s) => s.status === "in_progress") || storeFiles.flat().some((f) => f.status === "in_progress");
  if (busy) ctx.refreshLater(REFRESH_MS);
}

function fileTable(files, ctx) {
  return h("table", { id: "file-table" },
    h("thead", {}, h("tr", {}, ["Name", "Id", "Size", "Purpose", "Uploaded", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, files.map((f) => h("tr", { dataset: { fileId: f.id } },
      h("td", {}, f.filename), h("td", { class: "small" }, f.id), h("td", {}, bytes(f.bytes)), h("td", {}, f.purpose),
      h("td", { class: "small" }, when(f.created_at)),
      h("td", {}, confirmButton("Delete", async () => {
        try { await ctx.api.del(`/files/${f.id}`); ctx.refresh(); } catch (error) { ctx.notify(error); }
      }))))));
}

function newStoreForm(files, ctx) {
  const name = h("input", { id: "vs-name", placeholder: "name" });
  const boxes = files.filter((f) => f.purpose === "assistants").map((f) => h("input", { type: "checkbox", value: f.id, dataset: { name: f.filename } }));
  return h("form", { class: "card", id: "vs-form", async onsubmit(e) {
    e.preventDefault();
    try {
      await ctx.api.post("/vector_stores", { name: name.value, file_ids: boxes.filter((b) => b.checked).map((b) => b.value) });
      ctx.refresh();
    } catch (error) { ctx.notify(error); }
  } },
  h("h3", {}, "New vector store"), h("label", {}, "Name ", name),
  boxes.length ? h("div", {}, "With files: ", boxes.map((b) => h("label", { class: "inline" }, b, b.dataset.name))) : "",
  h("menu", {}, h("button", { type: "submit", id: "vs-create" }, "Create vector store")));
}

function storeView(store, entries, names, files, ctx) {
  const counts = store.file_counts;
  const add = h("select", { "aria-label": `Add a file to ${store.name || store.id}` },
    h("option", { value: "" }, "Add a file…"),
    files.filter((f) => !entries.some((e) => e.id === f.id)).map((f) => h("option", { value: f.id }, f.filename)));
  add.addEventListener("change", async () => {
    if (!add.value) return;
    try { await ctx.api.post(`/vector_stores/${store.id}/files`, { file_id: add.value }); ctx.refresh(); } catch (error) { ctx.notify(error); }
  });
  return h("div", { class: "card vector-store", dataset: { storeId: store.id } },
    h("div", { class: "row" }, h("h3", {}, store.name || store.id), badge(store.status),
      h("span", { class: "muted small" }, `${store.id} · ${counts.completed}/${counts.total} files ready · ${bytes(store.usage_bytes)}`),
      confirmButton("Delete", async () => {
        try { await ctx.api.del(`/vector_stores/${store.id}`); ctx.refresh(); } catch (error) { ctx.notify(error); }
      })),
    entries.length ? h("table", {}, h("tbody", {}, entries.map((entry) =>
      h("tr", { class: "store-file", dataset: { fileId: entry.id, status: entry.status } },
        h("td", {}, names.get(entry.id) || entry.id), h("td", {}, badge(entry.status)),
        h("td", { class: "error-text small failure" }, entry.last_error ? `${entry.last_error.code}: ${entry.last_error.message}` : ""),
        h("td", {}, h("button", { type: "button", class: "quiet small", async onclick() {
          try { await ctx.api.del(`/vector_stores/${store.id}/files/${entry.id}`); ctx.refresh(); } catch (error) { ctx.notify(error); }
        } }, "Remove")))))) : h("p", { class: "muted small" }, "No files."),
    add);
}
