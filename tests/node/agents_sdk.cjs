// The OpenAI Agents SDK for JavaScript (@openai/agents) against our server, on its default
// Responses model: an agent whose function tool is forced on the first turn (the SDK resets
// the choice after a call, so the agent then answers from the tool's output), with tracing
// off (its exporter would reach OpenAI). argv[2]: {"modules": DIR, "baseURL": URL}.
const config = JSON.parse(process.argv[2]);
const agents = require(`${config.modules}/@openai/agents`);
const OpenAI = require(`${config.modules}/openai`);
const { z } = require(`${config.modules}/zod`);

agents.setTracingDisabled(true);
agents.setDefaultOpenAIClient(new OpenAI({ baseURL: config.baseURL, apiKey: "local" }));
agents.setOpenAIAPI("responses");

const calls = [];
const getWeather = agents.tool({
  name: "get_weather",
  description: "Get the current weather for a city",
  parameters: z.object({ location: z.string() }),
  execute: async ({ location }) => {
    calls.push(location);
    return `Sunny and 21 C in ${location}.`;
  },
});

(async () => {
  const agent = new agents.Agent({
    name: "Weather",
    instructions: "Answer briefly.",
    model: "default",
    tools: [getWeather],
    modelSettings: { toolChoice: "get_weather", temperature: 0, maxTokens: 400 },
  });
  const result = await agents.run(agent, "What is the weather in Paris?", { maxTurns: 4 });
  console.log(
    JSON.stringify({ calls, items: result.newItems.map((i) => i.type), final: result.finalOutput })
  );
})().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
