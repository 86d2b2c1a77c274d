// Faultline client under test: the official `@anthropic-ai/sdk` for Node, used the way its
// README shows for streaming: client.messages.stream(...), text written from .on('text') as it
// arrives, then `await stream.finalMessage()`. It follows the client contract of
// clients/README.md: exit 0 when the SDK reports no error, otherwise the error's message on
// stderr and exit 1.
//
// Nothing is added to the SDK's own resilience: no extra retries, time-outs or validation.
//
// Environment: ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, read by `new Anthropic()` itself
// (anthropic-sdk-typescript client.ts: `baseURL = readEnv('ANTHROPIC_BASE_URL')`,
// `apiKey = readEnv('ANTHROPIC_API_KEY')`); FAULTLINE_MODEL and FAULTLINE_PROMPT.
import Anthropic from '@anthropic-ai/sdk';
import { writeResult } from './contract.mjs';

const model = process.env.FAULTLINE_MODEL ?? 'claude-sonnet-4-5';
const prompt = process.env.FAULTLINE_PROMPT ?? 'Say hello.';

const client = new Anthropic();

try {
  const stream = client.messages
    .stream({ model, max_tokens: 1024, messages: [{ role: 'user', content: prompt }] })
    .on('text', (text) => {
      process.stdout.write(text);
    });
  const message = await stream.finalMessage();
  // The contract's tool-call answer: one line {"name": ..., "arguments": {...}}, from the
  // tool_use block the SDK assembled from its input_json_delta pieces.
  for (const block of message.content) {
    if (block.type === 'tool_use') {
      process.stdout.write(JSON.stringify({ name: block.name, arguments: block.input }));
    }
  }
  process.stdout.write('\n');
  const calls = message.content.filter((b) => b.type === 'tool_use');
  writeResult({
    text: message.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    finishReason: message.stop_reason,
    usage: message.usage,
    toolCalls: calls.map((b) => ({ name: b.name, arguments: b.input })),
    responseId: message.id,
  });
} catch (err) {
  process.stderr.write(`anthropic.mjs: ${err?.message ?? err}\n`);
  process.exitCode = 1;
}
