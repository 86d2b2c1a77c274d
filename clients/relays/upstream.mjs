// The provider side shared by the Node reference relays: one streaming request to the provider
// the client contract names (FAULTLINE_DIALECT, OPENAI_BASE_URL / ANTHROPIC_BASE_URL), made with
// Node's `http` module only, its SSE cut into events and each dialect's text deltas, end marker
// and error events picked out. Nothing here retries or times out: the relays decide that.
import http from 'node:http';

const dialect = process.env.FAULTLINE_DIALECT || 'openai-chat';
const model = process.env.FAULTLINE_MODEL || 'gpt-4o-mini';

// The request for a prompt: [url, headers, body].
function request(prompt) {
  if (dialect === 'anthropic-messages') {
    return [`${process.env.ANTHROPIC_BASE_URL}/v1/messages`,
      { 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01' },
      { model, max_tokens: 1024, stream: true, messages: [{ role: 'user', content: prompt }] }];
  }
  if (dialect === 'openai-responses') {
    return [`${process.env.OPENAI_BASE_URL}/responses`,
      { authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
      { model, stream: true, input: prompt }];
  }
  return [`${process.env.OPENAI_BASE_URL}/chat/completions`,
    { authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
    { model, stream: true, messages: [{ role: 'user', content: prompt }] }];
}

// Whether an error event's type says trying again may help (overloaded, rate limited, a
// server error) rather than that the request itself is wrong.
const transient = (t) => /overloaded|rate_limit|server_error|api_error|internal|unavailable/i.test(t || '');

// What one SSE event means: {text}, {end: true}, {error: message, retry}, {seq} or {}.
function meaning(event, data) {
  if (data === '[DONE]') return dialect === 'openai-chat' ? { end: true } : {};
  let j;
  try { j = JSON.parse(data); } catch { return { error: `unparsable event: ${data.slice(0, 60)}` }; }
  const type = j.type || event;
  if (j.error && dialect === 'openai-chat') return { error: j.error.message || 'error event', retry: transient(`${j.error.type} ${j.error.code}`) };
  if (type === 'error') {
    const e = j.error || j;
    return { error: e.message || 'error event', retry: transient(`${e.type} ${e.code}`) };
  }
  if (dialect === 'openai-chat') {
    const c = j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content;
    return typeof c === 'string' ? { text: c } : {};
  }
  if (dialect === 'openai-responses') {
    if (type === 'response.output_text.delta') return { text: j.delta, seq: j.sequence_number };
    if (type === 'response.completed') return { end: true };
    if (type === 'response.failed' || type === 'response.incomplete') return { error: type };
    return {};
  }
  if (type === 'content_block_delta' && j.delta && j.delta.type === 'text_delta') return { text: j.delta.text };
  if (type === 'message_stop') return { end: true };
  return {};
}

// Starts the request. on.head(status, headers, bodyText|null) once the head is in (the body
// only for a status >= 300, read whole); on.event({text|end|error,retry}) per event; on.byte() for
// every byte (pings included); on.done(err|null) when the body ended (err: it broke).
// Returns the ClientRequest (destroy() it to cancel).
export function stream(prompt, on) {
  const [url, headers, body] = request(prompt);
  const payload = JSON.stringify(body);
  const req = http.request(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  }, (res) => {
    if (res.statusCode >= 300) {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => on.head(res.statusCode, res.headers, text));
      res.on('error', (e) => on.done(e));
      return;
    }
    on.head(res.statusCode, res.headers, null);
    let buf = '', event = '', data = [], ended = false, lastSeq = -1;
    const dec = new TextDecoder('utf-8', { fatal: true }); // invalid UTF-8 is a broken stream
    const lines = (final) => {
      let i;
      while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
        if (!final && buf[i] === '\r' && i + 1 === buf.length) break; // a CR whose LF may follow
        const line = buf.slice(0, i);
        buf = buf.slice(i + (buf.startsWith('\r\n', i) ? 2 : 1));
        if (line === '') {
          if (data.length) {
            const m = meaning(event, data.join('\n'));
            // the Responses API numbers its events: one seen before is a duplicate
            if (typeof m.seq === 'number' && m.seq <= lastSeq) m.text = '';
            if (typeof m.seq === 'number') lastSeq = Math.max(lastSeq, m.seq);
            on.event(m);
          }
          event = ''; data = [];
        } else if (line[0] === ':') {
          continue;
        } else {
          const c = line.indexOf(':');
          const f = c < 0 ? line : line.slice(0, c);
          let v = c < 0 ? '' : line.slice(c + 1);
          if (v[0] === ' ') v = v.slice(1);
          if (f === 'data') data.push(v);
          else if (f === 'event') event = v;
        }
      }
    };
    res.on('data', (chunk) => {
      on.byte();
      if (ended) return;
      try {
        buf += dec.decode(chunk, { stream: true });
      } catch {
        ended = true;
        on.done(new Error('invalid UTF-8 from the provider'));
        return;
      }
      lines(false);
    });
    res.on('end', () => { lines(true); if (!ended) { ended = true; on.done(null); } });
    res.on('aborted', () => { if (!ended) { ended = true; on.done(new Error('upstream aborted')); } });
    res.on('error', (e) => { if (!ended) { ended = true; on.done(e); } });
  });
  req.on('error', (e) => on.done(e));
  req.end(payload);
  return req;
}

// The prompt of a browser's request body: {prompt}, the last message's content, or the text
// parts of the last UI message (what useChat posts).
export function promptOf(body) {
  let j = {};
  try { j = JSON.parse(body); } catch { return ''; }
  if (typeof j.prompt === 'string') return j.prompt;
  const m = Array.isArray(j.messages) && j.messages[j.messages.length - 1];
  if (!m) return typeof j.input === 'string' ? j.input : '';
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.parts)) return m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
  return '';
}
