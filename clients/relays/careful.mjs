// The careful reference relay (README, "Relays under test"): Node's `http` module only, serving
// the Vercel AI SDK UI message stream (--downstream ai-sdk-ui) on $PORT, for the provider the
// client contract names. What makes it careful, each a relay finding it avoids:
//   - it pipes: every text delta is written as it arrives (buffered);
//   - it sends an SSE comment every HEARTBEAT_MS while nothing else goes out (no_heartbeat);
//   - when the browser goes away it destroys the upstream request (upstream_not_cancelled);
//   - an upstream failure it cannot recover from becomes an `error` part (error_swallowed);
//   - it retries a failure before the answer is whole with exponential backoff, honouring
//     Retry-After / retry-after-ms, at most MAX_ATTEMPTS requests (retry_storm, no_backoff,
//     ignored_retry_after); a retry after text went out forwards only what is new, and gives up
//     with an error part if the new answer does not begin with what the browser already has;
//   - an upstream without text for IDLE_MS counts as failed (pings do not count: a provider's
//     keep-alive during a stall that never ends would hold the browser forever).
import http from 'node:http';
import { stream, promptOf } from './upstream.mjs';

const HEARTBEAT_MS = 1000, IDLE_MS = 4000, MAX_ATTEMPTS = 3, BASE_BACKOFF_MS = 250, MAX_WAIT_MS = 4000;
const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529]);

function waitAfter(status, headers, attempt) {
  const ms = Number(headers && headers['retry-after-ms']);
  if (ms >= 0 && Number.isFinite(ms)) return ms;
  const s = Number(headers && headers['retry-after']);
  if (s >= 0 && Number.isFinite(s)) return s * 1000;
  return BASE_BACKOFF_MS * 2 ** (attempt - 1);
}

http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', () => relay(promptOf(body), res));
}).listen(Number(process.env.PORT), '127.0.0.1');

function relay(prompt, res) {
  res.writeHead(200, {
    'content-type': 'text/event-stream', 'cache-control': 'no-cache',
    'x-vercel-ai-ui-message-stream': 'v1',
  });
  const part = (p) => { res.write(`data: ${JSON.stringify(p)}\n\n`); beat(); };
  let sent = '', gone = false, closed = false, upstream = null, timer = null, heartbeat = null, idle = null;
  const beat = () => {
    clearTimeout(heartbeat);
    if (!closed) heartbeat = setTimeout(() => { res.write(': ping\n\n'); beat(); }, HEARTBEAT_MS);
  };
  const close = (last) => {
    if (closed) return;
    if (last) part(last);
    closed = true;
    clearTimeout(heartbeat); clearTimeout(idle); clearTimeout(timer);
    res.end('data: [DONE]\n\n');
  };
  res.on('close', () => {
    if (!res.writableFinished) { gone = true; closed = true; }
    clearTimeout(heartbeat); clearTimeout(idle); clearTimeout(timer);
    if (upstream) upstream.destroy();
  });
  part({ type: 'start' });
  part({ type: 'text-start', id: 't0' });

  const attempt = (n) => {
    if (gone) return;
    let text = '', done = false, failed = false;
    const fail = (msg, status, headers, retry = true) => {
      if (failed || done) return;
      failed = true;
      clearTimeout(idle);
      upstream.destroy();
      const retryable = retry && (status === undefined || RETRYABLE.has(status));
      const wait = waitAfter(status, headers, n);
      if (n < MAX_ATTEMPTS && retryable && wait <= MAX_WAIT_MS) {
        timer = setTimeout(() => attempt(n + 1), wait);
      } else {
        close({ type: 'error', errorText: msg });
      }
    };
    const poke = () => {
      clearTimeout(idle);
      idle = setTimeout(() => fail(`no byte from the provider for ${IDLE_MS} ms`), IDLE_MS);
    };
    poke();
    upstream = stream(prompt, {
      head(status, headers, errBody) {
        if (status >= 300) fail(`provider answered HTTP ${status}: ${(errBody || '').slice(0, 120)}`, status, headers);
      },
      byte() {},
      event(e) {
        if (failed || done) return;
        if (e.error) return fail(`provider error: ${e.error}`, undefined, undefined, e.retry);
        if (e.text) {
          poke();
          text += e.text;
          // forward only what the browser does not have yet (after a retry)
          if (text.length > sent.length) {
            if (!text.startsWith(sent)) return close({ type: 'error', errorText: 'the retried answer differs from the text already sent' });
            part({ type: 'text-delta', id: 't0', delta: text.slice(sent.length) });
            sent = text;
          } else if (!sent.startsWith(text)) {
            return close({ type: 'error', errorText: 'the retried answer differs from the text already sent' });
          }
        }
        if (e.end) {
          done = true;
          clearTimeout(idle);
          if (text.length < sent.length) return close({ type: 'error', errorText: 'the retried answer is shorter than the text already sent' });
          part({ type: 'text-end', id: 't0' });
          close({ type: 'finish' });
        }
      },
      done(err) {
        if (!done) fail(err ? `connection to the provider broke: ${err.message}` : 'the provider ended the stream without its end marker');
      },
    });
  };
  attempt(1);
}
