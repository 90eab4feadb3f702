// Streams chat completions (the official Node SDK's ChatCompletionStream helper) and
// responses (its ResponseStream helper) against our server and prints what the helpers
// assembled, as JSON, for tests/test_node_sdk.py.
// Usage: node chat_stream.cjs '{"sdk": ".../openai7", "baseURL": ..., "tool": {...}}'
"use strict";

const config = JSON.parse(process.argv[2]);
const OpenAI = require(config.sdk);
const client = new OpenAI({ baseURL: config.baseURL, apiKey: "local", maxRetries: 0 });

async function main() {
  const completions = client.chat.completions.stream ? client.chat.completions : client.beta.chat.completions;
  const seen = { text: [] };
  const text = completions.stream({
    model: "default",
    messages: [{ role: "user", content: "Count from 1 to 5." }],
    temperature: 0,
    max_tokens: 30,
    stream_options: { include_usage: true },
  });
  text.on("content", (delta) => seen.text.push(delta));
  seen.textCompletion = await text.finalChatCompletion();
  const call = completions.stream({
    model: "default",
    messages: [{ role: "user", content: "What is the weather in Oslo?" }],
    tools: [config.tool],
    tool_choice: "required",
    temperature: 0,
  });
  seen.callCompletion = await call.finalChatCompletion();
  seen.responseText = [];
  const response = client.responses.stream({
    model: "default",
    input: "What is the weather in Oslo?",
    tools: [{ type: "function", ...config.tool.function }],
    tool_choice: "required",
    temperature: 0,
  });
  response.on("response.function_call_arguments.delta", (event) => seen.responseText.push(event.delta));
  seen.response = await response.finalResponse();
  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
