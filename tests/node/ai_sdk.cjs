// The Vercel AI SDK (ai 6, @ai-sdk/openai 3, @ai-sdk/open-responses 1) against our server,
// as its docs show it: streamText with Output.object on the Responses provider, a forced
// tool call with generateText on the Responses, the Chat and the Open Responses provider,
// and a streamed answer on the Open Responses provider. Prints one JSON line per case.
// argv[2]: {"modules": DIR, "baseURL": URL}
const config = JSON.parse(process.argv[2]);
const ai = require(`${config.modules}/ai`);
const { createOpenAI } = require(`${config.modules}/@ai-sdk/openai`);
const { createOpenResponses } = require(`${config.modules}/@ai-sdk/open-responses`);

const openai = createOpenAI({ baseURL: config.baseURL, apiKey: "local" });
const open = createOpenResponses({
  url: `${config.baseURL}/responses`,
  name: "offline-assistants",
  apiKey: "local",
});
const models = {
  responses: (id) => openai.responses(id),
  chat: (id) => openai.chat(id),
  open: (id) => open(id),
};
const city = ai.jsonSchema({
  type: "object",
  properties: { city: { type: "string" }, country: { type: "string" } },
  required: ["city", "country"],
  additionalProperties: false,
});

async function structured() {
  const result = ai.streamText({
    model: openai.responses("default"),
    output: ai.Output.object({ schema: city }),
    prompt: "Name a city in France.",
    temperature: 0,
    maxOutputTokens: 60,
  });
  const parts = [];
  for await (const part of result.partialOutputStream) parts.push(part);
  const output = await result.output;
  return { case: "structured", partials: parts.length, output, finish: await result.finishReason };
}

async function toolCall(provider) {
  const result = await ai.generateText({
    model: models[provider]("default"),
    tools: {
      get_weather: ai.tool({
        description: "Get the current weather for a city",
        inputSchema: ai.jsonSchema({
          type: "object",
          properties: { location: { type: "string" } },
          required: ["location"],
          additionalProperties: false,
        }),
      }),
    },
    toolChoice: { type: "tool", toolName: "get_weather" },
    prompt: "What is the weather in Paris?",
    temperature: 0,
    maxOutputTokens: 60,
  });
  const calls = result.toolCalls.map((c) => ({ name: c.toolName, input: c.input }));
  return { case: `tool-${provider}`, calls, finish: result.finishReason };
}

async function openStream() {
  const result = ai.streamText({
    model: open("default"),
    prompt: "Say hello.",
    temperature: 0,
    maxOutputTokens: 16,
  });
  let text = "";
  let pieces = 0;
  for await (const piece of result.textStream) {
    text += piece;
    pieces += 1;
  }
  return { case: "open-stream", pieces, text, finish: await result.finishReason };
}

(async () => {
  const cases = [
    structured,
    () => toolCall("responses"),
    () => toolCall("chat"),
    () => toolCall("open"),
    openStream,
  ];
  for (const run of cases) {
    console.log(JSON.stringify(await run()));
  }
})().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  if (error && error.responseBody) console.error(error.responseBody);
  process.exit(1);
});
