// The page's client of this server's /v1 API: JSON calls, uploads, SSE streams, file blobs.
// Every request goes to this origin. When the server has --api-key, a 401 asks the person for
// the key (askKey), which is kept in sessionStorage and sent as a Bearer header, never in a URL.

const KEY_NAME = "offline-assistants.api-key";

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || null;
    this.param = error.param || null;
    this.code = error.code || null;
  }

  static async from(response) {
    let error = { message: `${response.status} ${response.statusText}` };
    try {
      const body = await response.json();
      if (body && body.error) error = body.error;
    } catch (_) { /* not JSON: keep the status line */ }
    return new ApiError(response.status, error);
  }
}

export class Api {
  constructor(askKey, base = "/v1") {
    this.askKey = askKey; // (why the last key failed, or null) => Promise<string|null>
    this.base = base;
    this.asking = null; // the pending question for the key, if any
  }

  get key() { return sessionStorage.getItem(KEY_NAME) || ""; }
  set key(value) {
    if (value) sessionStorage.setItem(KEY_NAME, value);
    else sessionStorage.removeItem(KEY_NAME);
  }

  headers(json) {
    const headers = { "OpenAI-Beta": "assistants=v2" };
    if (json) headers["Content-Type"] = "application/json";
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    return headers;
  }

  // The raw Response of a successful call; an ApiError otherwise.
  async request(method, path, body, form) {
    for (;;) {
      const init = { method, headers: this.headers(body !== undefined) };
      if (form) init.body = form;
      else if (body !== undefined) init.body = JSON.stringify(body);
      let response;
      try {
        response = await fetch(this.base + path, init);
      } catch (error) {
        throw new ApiError(0, { message: `Cannot reach the server (${error.message}). Is offline-assistants serve still running?` });
      }
      if (response.status === 401) {
        const error = await ApiError.from(response);
        // Several calls may be refused at once: one question to the person serves them all.
        // With a key already given, the server's message says it was wrong.
        const reason = this.key ? error.message : null;
        this.asking = this.asking || this.askKey(reason).finally(() => { this.asking = null; });
        const key = await this.asking;
        if (key) { this.key = key; continue; }
        throw error;
      }
      if (!response.ok) throw await ApiError.from(response);
      return response;
    }
  }

  async json(method, path, body) {
    return (await this.request(method, path, body)).json();
  }
  get(path) { return this.json("GET", path); }
  post(path, body = {}) { return this.json("POST", path, body); }
  del(path) { return this.json("DELETE", path); }

  // Every item of a list endpoint, following the cursor.
  async all(path, query = "") {
    const items = [];
    let after = "";
    for (;;) {
      const page = await this.get(`${path}?limit=100${query}${after ? `&after=${after}` : ""}`);
      items.push(...page.data);
      if (!page.has_more || !page.data.length) return items;
      after = page.last_id;
    }
  }

  upload(file, purpose = "assistants") {
    const form = new FormData();
    form.append("purpose", purpose);
    form.append("file", file, file.name);
    return this.request("POST", "/files", undefined, form).then((r) => r.json());
  }

  // A file's content as an object URL (an <img> cannot send the key itself).
  async fileUrl(fileId) {
    const response = await this.request("GET", `/files/${fileId}/content`);
    return URL.createObjectURL(await response.blob());
  }

  // POST with stream: true; yields {event, data} as the SDK's event handler sees them.
  async *stream(path, body) {
    const response = await this.request("POST", path, { ...body, stream: true });
    yield* serverSentEvents(response.body);
  }
}

export async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event) yield event;
    }
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  const text = data.join("\n");
  if (text === "[DONE]") return { event: "done", data: null };
  return { event, data: JSON.parse(text) };
}
