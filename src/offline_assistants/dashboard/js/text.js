// A message's content as DOM: a little Markdown (code fences, `code`, **bold**) and its
// annotations. A file_citation becomes a numbered link to the excerpt it cites (the marker
// 【0:rank†file, p. N】 names the search result's rank); a file_path becomes a download link.
import { h } from "./dom.js";

const FENCE = /```[^\n]*\n([\s\S]*?)(?:```|$)/g;
const INLINE = /(`[^`\n]+`|\*\*[^*\n]+\*\*)/;

// ctx: { citation(annotation, number) → Node, filePath(annotation) → Node }
export function renderText(text, annotations = [], ctx) {
  const fragment = document.createDocumentFragment();
  const sorted = [...annotations].sort((a, b) => a.start_index - b.start_index);
  const numbered = { count: 0 };
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    // A block stands on its own lines: the line breaks around it are its margins.
    const before = text[match.index - 1] === "\n" ? match.index - 1 : match.index;
    appendInline(fragment, text, last, before, sorted, ctx, numbered);
    fragment.append(h("pre", {}, h("code", {}, match[1])));
    last = match.index + match[0].length;
    if (text[last] === "\n") last += 1;
  }
  appendInline(fragment, text, last, text.length, sorted, ctx, numbered);
  return fragment;
}

function appendInline(parent, text, start, end, annotations, ctx, numbered) {
  let at = start;
  for (const annotation of annotations) {
    if (annotation.start_index < at || annotation.end_index > end) continue;
    parent.append(...inline(text.slice(at, annotation.start_index)));
    if (annotation.type === "file_citation") {
      numbered.count += 1;
      parent.append(ctx.citation(annotation, numbered.count));
    } else if (annotation.type === "file_path") {
      parent.append(ctx.filePath(annotation));
    } else {
      parent.append(text.slice(annotation.start_index, annotation.end_index));
    }
    at = annotation.end_index;
  }
  parent.append(...inline(text.slice(at, end)));
}

function inline(text) {
  return text.split(INLINE).filter(Boolean).map((part) => {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return h("code", {}, part.slice(1, -1));
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) return h("strong", {}, part.slice(2, -2));
    return document.createTextNode(part);
  });
}

// The search result rank a citation marker names: 【0:2†paper.pdf, p. 8】 → 2.
export function citedRank(annotation) {
  const match = /【\d+:(\d+)†/.exec(annotation.text || "");
  return match ? Number(match[1]) : 0;
}

export function citationLabel(annotation) {
  const match = /†([^】]*)】/.exec(annotation.text || "");
  return match ? match[1] : annotation.file_citation?.file_id || "source";
}
