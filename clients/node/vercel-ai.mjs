// Faultline client under test: the Vercel AI SDK (`ai`), used the way its docs show:
// `streamText({ model, prompt })`, reading `fullStream` and handling its `error` parts ("Error
// Handling", "Handling streaming errors (streaming with `error` support)"). The model by dialect:
//   openai-chat       openai.chat(model)       Chat Completions (@ai-sdk/openai)
//   openai-responses  openai.responses(model)  the Responses API, also what `openai(model)` is
//   gemini            google(model)            `:streamGenerateContent?alt=sse` (@ai-sdk/google)
// It follows the client contract of clients/README.md: the answer text on stdout as it streams,
// exit 0 when the SDK reported no error, otherwise the error's message on stderr and exit 1.
//
// Nothing is added to the SDK's own resilience: no extra retries, time-outs or checks of the
// finish reason. What Faultline scores is what `streamText` does with its defaults
// (maxRetries 2, no time-out), not this adapter.
//
// No tools are declared (the adapter does not know the scenario's tool): the SDK still reports
// a streamed call to an undeclared tool as a `tool-call` part (marked invalid, followed by a
// `tool-error` NoSuchToolError), with the name and the parsed input, which is the contract's
// tool-call answer. That `tool-error` is the SDK refusing to *run* an unknown tool, not a
// failure of the stream, so it is not counted as one.
//
// Environment: OPENAI_BASE_URL and OPENAI_API_KEY, read by the default `openai` provider
// (@ai-sdk/openai: loadOptionalSetting OPENAI_BASE_URL, loadApiKey OPENAI_API_KEY). The Google
// provider reads only its key from the environment (GOOGLE_GENERATIVE_AI_API_KEY); its base URL
// is an option, `createGoogleGenerativeAI({ baseURL })`, default
// https://generativelanguage.googleapis.com/v1beta. So for gemini the adapter passes
// `${GOOGLE_GEMINI_BASE_URL}/v1beta` (the root Google's own SDK reads; FAULTLINE_BASE_URL when
// unset) and GEMINI_API_KEY when GOOGLE_GENERATIVE_AI_API_KEY is unset, which is what a
// developer pointing it at another server writes. FAULTLINE_DIALECT (openai-chat |
// openai-responses | gemini), FAULTLINE_MODEL, FAULTLINE_PROMPT.
import { streamText } from 'ai';
import { openai } from '@ai-sdk/openai';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { printAnswer, fail, writeResult } from './contract.mjs';

const dialect = process.env.FAULTLINE_DIALECT ?? 'openai-chat';
const modelId = process.env.FAULTLINE_MODEL ?? 'gpt-4o-mini';
const prompt = process.env.FAULTLINE_PROMPT ?? 'Say hello.';

function languageModel() {
  if (dialect === 'openai-responses') return openai.responses(modelId);
  if (dialect !== 'gemini') return openai.chat(modelId);
  const root = process.env.GOOGLE_GEMINI_BASE_URL ?? process.env.FAULTLINE_BASE_URL;
  const google = createGoogleGenerativeAI({
    baseURL: root === undefined ? undefined : `${root.replace(/\/+$/, '')}/v1beta`,
    apiKey: process.env.GOOGLE_GENERATIVE_AI_API_KEY ?? process.env.GEMINI_API_KEY,
  });
  return google(modelId);
}

try {
  const { fullStream } = streamText({ model: languageModel(), prompt });
  const calls = [];
  let error = null;
  const seen = { text: '' };
  for await (const part of fullStream) {
    if (part.type === 'text-delta') seen.text += part.text;
    // The SDK's own words for how it ended; 'unknown' and 'other' say it does not know, which
    // is no claim that the stream finished.
    if (part.type === 'finish' && !['unknown', 'other'].includes(part.finishReason)) {
      seen.finishReason = part.finishReason;
      seen.usage = { input_tokens: part.totalUsage?.inputTokens, output_tokens: part.totalUsage?.outputTokens };
    }
    if (part.type === 'finish-step') seen.responseId = part.response?.id ?? seen.responseId;
    if (part.type === 'text-delta') process.stdout.write(part.text);
    else if (part.type === 'tool-call') calls.push({ name: part.toolName, arguments: part.input });
    else if (part.type === 'error') error ??= part.error;
    else if (part.type === 'abort') error ??= new Error('stream aborted');
  }
  if (error) throw error;
  printAnswer(calls);
  writeResult({ ...seen, toolCalls: calls });
} catch (err) {
  fail('vercel-ai.mjs', err);
}
