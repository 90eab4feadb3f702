// The page's entry point: a hash router over the four pages, the error notice, and the
// API key dialog. Each page module exports render(root, ctx, params, id); ctx carries the
// API client and the ways a page reports (notify, flash) or asks to be drawn again.
import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import * as assistants from "./assistants.js";
import * as files from "./files.js";
import * as playground from "./playground.js";
import * as threads from "./threads.js";

const PAGES = { assistants, playground, threads, files };

const view = document.getElementById("view");
const notice = document.getElementById("notice");
const dialog = document.getElementById("key-dialog");
let timer = null;

function askKey(reason) {
  const input = document.getElementById("key-input");
  input.value = "";
  const why = document.getElementById("key-reason");
  why.textContent = reason || "";
  why.hidden = !reason;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "save" ? input.value.trim() : null), { once: true });
    dialog.showModal();
    input.focus();
  });
}

const api = new Api(askKey);

function notify(error) {
  console.warn(error);
  const where = error.param ? ` (parameter: ${error.param})` : "";
  const status = error.status ? `Error ${error.status}: ` : "";
  replace(notice, h("p", {}, `${status}${error.message || String(error)}${where}`),
    h("button", { type: "button", class: "quiet", onclick: () => { notice.hidden = true; } }, "Dismiss"));
  notice.className = "";
  notice.setAttribute("role", "alert");
  notice.hidden = false;
}

function flash(text) {
  replace(notice, h("p", {}, text));
  notice.className = "flash";
  notice.setAttribute("role", "status");
  notice.hidden = false;
  setTimeout(() => { if (notice.className === "flash") notice.hidden = true; }, 3000);
}

async function route() {
  clearTimeout(timer);
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/");
  const page = PAGES[name] ? name : "playground";
  for (const link of document.querySelectorAll("header nav a")) {
    if (link.getAttribute("href") === `#/${page}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · offline-assistants`;
  const ctx = { api, notify, flash, refresh: route, refreshLater };
  try {
    await PAGES[page].render(view, ctx, new URLSearchParams(query), id ? decodeURIComponent(id) : undefined);
  } catch (error) {
    replace(view, h("h1", {}, "This page could not load"), h("p", {}, error.message || String(error)),
      h("button", { type: "button", onclick: route }, "Try again"));
    notify(error);
  }
}

// Draw the page again in a while (to follow work in progress), but never under the
// hands of someone filling in a field: then wait another while.
function refreshLater(ms) {
  timer = setTimeout(function again() {
    const active = document.activeElement;
    if (active && view.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) timer = setTimeout(again, ms);
    else route();
  }, ms);
}

document.getElementById("key-button").addEventListener("click", async () => {
  const key = await askKey();
  if (key !== null) { api.key = key; route(); }
});
window.addEventListener("hashchange", route);
route();
