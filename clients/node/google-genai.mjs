// Faultline client under test: Google's own JS SDK, `@google/genai`, used the way its README
// shows for streaming: `new GoogleGenAI({})`, then
// `for await (const chunk of await ai.models.generateContentStream({ model, contents }))`,
// writing `chunk.text` as it arrives; a function call is read from `chunk.functionCalls`
// (Gemini sends each call whole in one chunk: `parts[].functionCall` with `name` and `args`).
// The SDK posts to `{base}/v1beta/models/{model}:streamGenerateContent?alt=sse`.
// It follows the client contract of clients/README.md: exit 0 when the SDK raised no error,
// otherwise the error's message on stderr and exit 1.
//
// Nothing is added to the SDK's resilience: with default options it makes one attempt (no
// `httpOptions.retryOptions`) and has no client-side time-out.
//
// Environment, read by `new GoogleGenAI()` itself (@google/genai client.ts): GEMINI_API_KEY
// (or GOOGLE_API_KEY, which wins when both are set) and GOOGLE_GEMINI_BASE_URL, the server
// root without `/v1beta`. Only when those are missing does the adapter pass FAULTLINE_BASE_URL
// and a dummy key itself, so it also runs under a harness that does not set them (without a
// key the SDK would look for Google Cloud credentials instead). FAULTLINE_MODEL and
// FAULTLINE_PROMPT; it speaks gemini only.
import { GoogleGenAI } from '@google/genai';
import { printAnswer, fail, writeResult } from './contract.mjs';

const model = process.env.FAULTLINE_MODEL ?? 'gemini-2.5-flash';
const prompt = process.env.FAULTLINE_PROMPT ?? 'Say hello.';

const options = {};
if (!process.env.GEMINI_API_KEY && !process.env.GOOGLE_API_KEY) options.apiKey = 'faultline-dummy';
if (!process.env.GOOGLE_GEMINI_BASE_URL && process.env.FAULTLINE_BASE_URL) {
  options.httpOptions = { baseUrl: process.env.FAULTLINE_BASE_URL };
}

try {
  const ai = new GoogleGenAI(options);
  const response = await ai.models.generateContentStream({ model, contents: prompt });
  const calls = [];
  const seen = { text: '' };
  for await (const chunk of response) {
    // chunk.text is undefined for a chunk without text parts (a function call, or only the
    // finishReason and usageMetadata).
    if (chunk.text) {
      process.stdout.write(chunk.text);
      seen.text += chunk.text;
    }
    const finish = chunk.candidates?.[0]?.finishReason;
    if (finish) seen.finishReason = finish;
    if (chunk.usageMetadata) {
      seen.usage = {
        input_tokens: chunk.usageMetadata.promptTokenCount,
        output_tokens: chunk.usageMetadata.candidatesTokenCount,
      };
    }
    if (chunk.responseId) seen.responseId = chunk.responseId;
    for (const fc of chunk.functionCalls ?? []) calls.push({ name: fc.name, arguments: fc.args });
  }
  printAnswer(calls);
  writeResult({ ...seen, toolCalls: calls });
} catch (err) {
  fail('google-genai.mjs', err);
}
