// What the function editor checks before anything is sent: the JSON parses, the name is one
// the API accepts, and the parameters are a JSON Schema object. The server checks the schema
// against JSON Schema's meta-schema too; its message then appears under the editor.

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

export function functionTemplate() {
  return JSON.stringify({
    name: "get_weather",
    description: "Get the current weather in a city",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
  }, null, 2);
}

// null when fine, else what is wrong, in a sentence.
export function checkFunction(text) {
  let fn;
  try {
    fn = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error.message}`;
  }
  if (typeof fn !== "object" || fn === null || Array.isArray(fn)) return "A function is a JSON object with a name and parameters.";
  if (typeof fn.name !== "string" || !NAME.test(fn.name)) return "name: 1 to 64 letters, digits, _ or -.";
  if (fn.description !== undefined && typeof fn.description !== "string") return "description must be a string.";
  if (fn.parameters === undefined) return null;
  if (typeof fn.parameters !== "object" || fn.parameters === null || Array.isArray(fn.parameters)) return "parameters must be a JSON Schema object.";
  if (fn.parameters.type !== undefined && fn.parameters.type !== "object") return 'parameters.type must be "object".';
  return checkSchema(fn.parameters, "parameters");
}

function checkSchema(schema, path) {
  if (typeof schema === "boolean") return null;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return `${path} must be a schema object.`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  for (const type of types) if (!TYPES.has(type)) return `${path}.type: "${type}" is not a JSON Schema type.`;
  if (schema.properties !== undefined) {
    if (typeof schema.properties !== "object" || schema.properties === null || Array.isArray(schema.properties)) return `${path}.properties must be an object.`;
    for (const [name, sub] of Object.entries(schema.properties)) {
      const problem = checkSchema(sub, `${path}.properties.${name}`);
      if (problem) return problem;
    }
  }
  if (schema.required !== undefined && !(Array.isArray(schema.required) && schema.required.every((r) => typeof r === "string"))) return `${path}.required must be a list of property names.`;
  if (schema.items !== undefined) return checkSchema(schema.items, `${path}.items`);
  return null;
}
