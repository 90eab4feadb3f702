// A thread message as a bubble: its text with citations and file links, its images.
// A citation links to the excerpt it cites in the run's file_search step (steps.js).
import { h, replace } from "./dom.js";
import { excerptId, imageView } from "./steps.js";
import { citationLabel, citedRank, renderText } from "./text.js";

export function messageView(message, ctx) {
  const view = h("div", { class: `message ${message.role}`, dataset: { messageId: message.id, runId: message.run_id || "" } });
  fillMessage(view, message, ctx);
  return view;
}

export function fillMessage(view, message, ctx) {
  replace(view, h("span", { class: "role" }, roleLabel(message, ctx)));
  for (const part of message.content) {
    if (part.type === "text") {
      view.append(h("span", { class: "text" }, renderText(part.text.value, part.text.annotations, annotationViews(message, ctx))));
    } else if (part.type === "image_file") {
      view.append(imageView(part.image_file.file_id, ctx));
    }
  }
  if (message.status === "incomplete") {
    view.append(h("span", { class: "muted small" }, ` (incomplete: ${message.incomplete_details?.reason || "stopped"})`));
  }
}

function roleLabel(message, ctx) {
  if (message.role === "user") return "You";
  return ctx.assistantName?.(message.assistant_id) || "Assistant";
}

function annotationViews(message, ctx) {
  return {
    citation(annotation, number) {
      const target = excerptId(message.run_id, citedRank(annotation));
      return h("a", {
        class: "citation", href: `#${target}`, title: citationLabel(annotation),
        dataset: { target, fileId: annotation.file_citation?.file_id || "" },
        onclick(event) { event.preventDefault(); showExcerpt(target, ctx); },
      }, `[${number}]`);
    },
    filePath(annotation) {
      const fileId = annotation.file_path.file_id;
      return h("a", {
        href: "#", class: "file-link", dataset: { fileId },
        async onclick(event) {
          event.preventDefault();
          try {
            const url = await ctx.api.fileUrl(fileId);
            h("a", { href: url, download: annotation.text.split("/").pop() }).click();
          } catch (error) { ctx.notify(error); }
        },
      }, annotation.text);
    },
  };
}

// Open the step that holds the excerpt, bring it into view, and mark it.
export async function showExcerpt(target, ctx) {
  let excerpt = document.getElementById(target);
  if (!excerpt && ctx.loadExcerpts) {
    await ctx.loadExcerpts(target);
    excerpt = document.getElementById(target);
  }
  if (!excerpt) { ctx.notify(new Error("That excerpt is not on this page any more.")); return; }
  for (let node = excerpt.parentElement; node; node = node.parentElement) {
    if (node.tagName === "DETAILS") node.open = true;
  }
  document.querySelectorAll(".excerpt.highlight").forEach((node) => node.classList.remove("highlight"));
  excerpt.classList.add("highlight");
  excerpt.scrollIntoView({ block: "center" });
  excerpt.focus({ preventScroll: true });
}
