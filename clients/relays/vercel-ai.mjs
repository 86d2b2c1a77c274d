// The Vercel AI SDK reference relay (README, "Relays under test"): a Node `http` server that
// does what the AI SDK's "Node.js HTTP server" example does, with every default:
// streamText({ model, messages }) and result.pipeUIMessageStreamToResponse(res), serving the UI
// message stream useChat() reads (--downstream ai-sdk-ui) on $PORT. The SDK supplies what the
// relay does about failures: streamText retries a failed call (maxRetries 2, with backoff), an
// error becomes an `error` part (its text masked by default), and no abortSignal is passed, as
// in the example, so the upstream request outlives a browser that left.
// The model follows FAULTLINE_DIALECT: openai.chat(model) for openai-chat, openai.responses()
// for openai-responses (both read OPENAI_BASE_URL), google() for gemini.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The SDK is installed with the Node clients (clients/node/node_modules).
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { streamText, convertToModelMessages } = await import(require.resolve('ai'));
const { openai } = await import(require.resolve('@ai-sdk/openai'));
const { createGoogleGenerativeAI } = await import(require.resolve('@ai-sdk/google'));

const name = process.env.FAULTLINE_MODEL;
const dialect = process.env.FAULTLINE_DIALECT;
const model = dialect === 'openai-responses' ? openai.responses(name)
  : dialect === 'gemini' ? createGoogleGenerativeAI({ baseURL: `${process.env.GOOGLE_GEMINI_BASE_URL}/v1beta` })(name)
    : openai.chat(name);

http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const { messages } = JSON.parse(body);
  const result = streamText({ model, messages: await convertToModelMessages(messages) });
  result.pipeUIMessageStreamToResponse(res);
}).listen(Number(process.env.PORT), '127.0.0.1');
