// The naive reference relay (README, "Relays under test"): what a first Node relay looks like,
// `http` module only, plain text chunks (--downstream text) on $PORT. It pipes each text delta
// as it arrives, which is right; and it has none of the rest: no heartbeat, no retry, nothing
// stops the upstream request when the browser leaves, and when the provider fails it just ends
// the response, so the browser takes half an answer for a whole one.
import http from 'node:http';
import { stream, promptOf } from './upstream.mjs';

http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    stream(promptOf(body), {
      head(status) { if (status >= 300) res.end(); },
      byte() {},
      event(e) { if (e.text) res.write(e.text); },
      done() { res.end(); },
    });
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
