// Faultline client under test: the official `openai` SDK for Node, used the way its README and
// the API reference show, with default options. It follows the client contract of
// clients/README.md: the answer text on stdout as it streams, exit 0 when the SDK reports no
// error, otherwise the error's message on stderr and exit 1.
//
// Nothing is added to the SDK's own resilience: no extra retries, time-outs or validation.
// What Faultline scores here is the SDK's behaviour (its retries, its stream parser, what it
// does when the stream ends early), not this adapter's.
//
// Environment: OPENAI_BASE_URL and OPENAI_API_KEY, read by `new OpenAI()` itself
// (openai-node client.ts: `baseURL = readEnv('OPENAI_BASE_URL')`, `apiKey = readEnv('OPENAI_API_KEY')`);
// FAULTLINE_DIALECT (openai-chat | openai-responses), FAULTLINE_MODEL, FAULTLINE_PROMPT.
import OpenAI from 'openai';
import { writeResult } from './contract.mjs';

const dialect = process.env.FAULTLINE_DIALECT ?? 'openai-chat';
const model = process.env.FAULTLINE_MODEL ?? 'gpt-4o-mini';
const prompt = process.env.FAULTLINE_PROMPT ?? 'Say hello.';

const client = new OpenAI();

// Chat Completions: text deltas in choices[0].delta.content; a tool call arrives as
// delta.tool_calls[] fragments keyed by index, the name in the first and the arguments JSON
// spread over the rest (OpenAI function-calling guide, "Streaming").
// What the SDK reported about the answer's end, for the structured result.
const seen = { text: '', finishReason: undefined, usage: undefined, responseId: undefined };

async function chat() {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: prompt }],
    stream: true,
  });
  const calls = [];
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    seen.responseId = chunk.id ?? seen.responseId;
    if (chunk.choices[0]?.finish_reason) seen.finishReason = chunk.choices[0].finish_reason;
    if (chunk.usage) {
      seen.usage = { input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens };
    }
    if (delta?.content) {
      process.stdout.write(delta.content);
      seen.text += delta.content;
    }
    for (const tc of delta?.tool_calls ?? []) {
      const call = (calls[tc.index] ??= { name: '', arguments: '' });
      if (tc.function?.name) call.name += tc.function.name;
      if (tc.function?.arguments) call.arguments += tc.function.arguments;
    }
  }
  return calls;
}

// Responses: text in response.output_text.delta events; a function call is announced by
// response.output_item.added (item.type function_call, with its name) and its arguments stream
// as response.function_call_arguments.delta for the same output_index.
async function responses() {
  const stream = await client.responses.create({ model, input: prompt, stream: true });
  const calls = [];
  for await (const event of stream) {
    if (event.type === 'response.completed' || event.type === 'response.incomplete') {
      seen.finishReason = event.response.status;
      seen.usage = event.response.usage ?? undefined;
      seen.responseId = event.response.id;
    }
    if (event.type === 'response.output_text.delta') {
      process.stdout.write(event.delta);
      seen.text += event.delta;
    } else if (event.type === 'response.output_item.added' && event.item.type === 'function_call') {
      calls[event.output_index] = { name: event.item.name, arguments: '' };
    } else if (event.type === 'response.function_call_arguments.delta') {
      const call = calls[event.output_index];
      if (call) call.arguments += event.delta;
    }
  }
  return calls;
}

try {
  const calls = (dialect === 'openai-responses' ? await responses() : await chat()).filter(Boolean);
  // The contract's tool-call answer: one line {"name": ..., "arguments": {...}}. Parsing the
  // arguments is what any caller must do before it can run the tool.
  for (const call of calls) {
    process.stdout.write(
      JSON.stringify({ name: call.name, arguments: JSON.parse(call.arguments || '{}') }),
    );
  }
  process.stdout.write('\n');
  writeResult({ ...seen, toolCalls: calls });
} catch (err) {
  process.stderr.write(`openai.mjs: ${err?.message ?? err}\n`);
  process.exitCode = 1;
}
