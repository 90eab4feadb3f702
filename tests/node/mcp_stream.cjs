// Streams a response whose mcp tool the runtime calls (the official Node SDK's
// ResponseStream helper, which checks every event against the response it builds) and
// prints what it assembled, as JSON, for tests/test_node_sdk.py.
// Usage: node mcp_stream.cjs '{"sdk": ".../openai7", "baseURL": ..., "serverURL": ...}'
"use strict";

const config = JSON.parse(process.argv[2]);
const OpenAI = require(config.sdk);
const client = new OpenAI({ baseURL: config.baseURL, apiKey: "local", maxRetries: 0 });

async function main() {
  const tool = {
    type: "mcp",
    server_label: "notes",
    server_url: config.serverURL,
    require_approval: "never",
    allowed_tools: ["add"],
  };
  const stream = client.responses.stream({
    model: "default",
    input: "What is 2 plus 3?",
    tools: [tool],
    tool_choice: { type: "mcp", server_label: "notes", name: "add" },
    temperature: 0,
    max_output_tokens: 48,
  });
  const seen = { events: [], argumentDeltas: [] };
  stream.on("response.mcp_call_arguments.delta", (event) => seen.argumentDeltas.push(event.delta));
  let last = null;
  for await (const event of stream) {
    seen.events.push(event.type);
    last = event;
  }
  seen.response = last.response;
  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
