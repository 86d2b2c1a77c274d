// The README's example relay: openai-chat upstream, ai-sdk-ui downstream, heartbeat, cancel, errors told.
import http from 'node:http';
http.createServer(async (req, res) => {
  let body = ''; for await (const chunk of req) body += chunk;
  const prompt = JSON.parse(body).messages.at(-1).parts.map((p) => p.text).join('');
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-vercel-ai-ui-message-stream': 'v1' });
  const send = (part) => res.write(`data: ${JSON.stringify(part)}\n\n`);
  const beat = setInterval(() => res.write(': ping\n\n'), 1000), abort = new AbortController(); // heartbeat
  res.on('close', () => { clearInterval(beat); abort.abort(); });                                // the browser left: cancel
  try {
    const up = await fetch(`${process.env.OPENAI_BASE_URL}/chat/completions`, { method: 'POST', signal: abort.signal,
      headers: { authorization: `Bearer ${process.env.OPENAI_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: process.env.FAULTLINE_MODEL, stream: true, messages: [{ role: 'user', content: prompt }] }) });
    if (!up.ok) throw new Error(`provider answered HTTP ${up.status}`);
    send({ type: 'text-start', id: 't' });
    let buf = '', done = false;
    for await (const chunk of up.body.pipeThrough(new TextDecoderStream())) {
      const lines = (buf += chunk).split('\n'); buf = lines.pop(); // whole lines only
      for (const line of lines.filter((l) => l.startsWith('data: '))) {
        if (line === 'data: [DONE]') { done = true; continue; }
        const j = JSON.parse(line.slice(6));
        if (j.error) throw new Error(j.error.message);
        if (j.choices?.[0]?.delta?.content) send({ type: 'text-delta', id: 't', delta: j.choices[0].delta.content }); // pipe
      }
    }
    if (!done) throw new Error('the provider stream ended without [DONE]');
    send({ type: 'text-end', id: 't' }); send({ type: 'finish' });
  } catch (e) { if (!abort.signal.aborted) send({ type: 'error', errorText: e.message }); } // never swallow
  clearInterval(beat); res.end('data: [DONE]\n\n');
}).listen(process.env.PORT, '127.0.0.1');
