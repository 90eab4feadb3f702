// Streams one run through the official Node SDK against our server and prints what
// the SDK's AssistantStream reported, as JSON, for tests/test_node_sdk.py.
// Usage: node stream_run.cjs '{"sdk": ".../openai7", "baseURL": ..., "threadId": ...,
//                              "assistantId": ..., "scenario": "code" | "function"}'
"use strict";

const config = JSON.parse(process.argv[2]);
const OpenAI = require(config.sdk);
const major = Number(require(config.sdk + "/package.json").version.split(".")[0]);
const client = new OpenAI({ baseURL: config.baseURL, apiKey: "local", maxRetries: 0 });

function watch(stream, seen) {
  stream
    .on("event", (event) => seen.events.push(event.event))
    .on("toolCallCreated", (call) =>
      seen.created.push({ id: call.id, type: call.type, input: call.code_interpreter?.input ?? null }))
    .on("toolCallDelta", (delta, snapshot) =>
      seen.deltas.push({
        index: delta.index,
        type: delta.type,
        input: delta.code_interpreter?.input ?? null,
        arguments: delta.function?.arguments ?? null,
        outputs: (delta.code_interpreter?.outputs ?? []).map((o) => o.logs ?? o.type),
        snapshotId: snapshot.id,
      }))
    .on("toolCallDone", (call) => seen.done.push(call))
    .on("textDelta", (delta) => seen.text.push(delta.value));
  return stream;
}

async function main() {
  const seen = { events: [], created: [], deltas: [], done: [], text: [], runs: [] };
  const runs = client.beta.threads.runs;
  const body = { assistant_id: config.assistantId, max_completion_tokens: 400 };
  if (config.scenario === "code") body.tool_choice = { type: "code_interpreter" };
  else {
    body.tool_choice = "required";
    body.parallel_tool_calls = false;
  }
  let stream = watch(runs.stream(config.threadId, body), seen);
  let run = await stream.finalRun();
  seen.runs.push(run.status);
  if (run.status === "requires_action") {
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    const tool_outputs = calls.map((c) => ({ tool_call_id: c.id, output: '{"temperature": -3}' }));
    seen.arguments = calls.map((c) => c.function.arguments);
    stream = watch(
      major >= 5
        ? runs.submitToolOutputsStream(run.id, { thread_id: config.threadId, tool_outputs, stream: true })
        : runs.submitToolOutputsStream(config.threadId, run.id, { tool_outputs }),
      seen,
    );
    run = await stream.finalRun();
    seen.runs.push(run.status);
  }
  const steps =
    major >= 5
      ? await runs.steps.list(run.id, { thread_id: config.threadId })
      : await runs.steps.list(config.threadId, run.id);
  seen.stepIds = steps.data.map((s) => s.id);
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
