#!/usr/bin/env node
// Checks one streamed chat completion from a peer: parses the SSE, times each event.
//
//   node sse-check.js URL PATH [TIMEOUT_MS]
//
// POSTs {"model":"gpt-4o-mini","stream":true,"messages":[...]} and prints one JSON line:
// status, content-type, headers_ms (when the headers arrived), data events, content events,
// comments, the content joined, done ([DONE] seen), end (how the body ended: "end",
// "timeout" or "error"), and for content events the first and last arrival in ms and the
// min, median and max gap between them in ms. Exits 0 when the stream ended with [DONE] or
// the timeout passed without an error, 1 otherwise. A tool for checking peers by hand, not a
// benchmark: it runs one request.
'use strict';

const http = require('http');

function main() {
    const [base, path, timeoutArg] = process.argv.slice(2);
    if (!base || !path) {
        process.stderr.write('usage: sse-check.js URL PATH [TIMEOUT_MS]\n');
        process.exit(2);
    }
    const timeoutMs = Number(timeoutArg || 10000);
    const body = JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{role: 'user', content: 'Say hello.'}],
    });
    const t0 = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const r = {events: 0, content_events: 0, comments: 0, content: '', done: false, after_done: 0};
    const arrivals = [];
    let buf = '';
    let finished = false;

    const finish = (end) => {
        if (finished)
            return;
        finished = true;
        r.end = end;
        if (arrivals.length) {
            r.first_content_ms = +arrivals[0].toFixed(1);
            r.last_content_ms = +arrivals[arrivals.length - 1].toFixed(1);
            const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]).sort((a, b) => a - b);
            if (gaps.length)
                r.gap_ms = {
                    min: +gaps[0].toFixed(1),
                    median: +gaps[gaps.length >> 1].toFixed(1),
                    max: +gaps[gaps.length - 1].toFixed(1),
                };
        }
        if (r.content.length > 200)
            r.content = r.content.slice(0, 80) + ' ... ' + r.content.slice(-80);
        process.stdout.write(JSON.stringify(r) + '\n');
        process.exit(r.done || end === 'timeout' ? 0 : 1);
    };

    // One SSE event per blank line (WHATWG HTML, "Server-sent events": LF, CR or CRLF).
    const onEvent = (block) => {
        const data = [];
        for (const line of block.split(/\r\n|\r|\n/)) {
            if (line.startsWith(':'))
                r.comments++;
            else if (line.startsWith('data:'))
                data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        if (!data.length)
            return;
        r.events++;
        if (r.done)
            r.after_done++;
        const d = data.join('\n');
        if (d === '[DONE]') {
            r.done = true;
            return;
        }
        const delta = JSON.parse(d).choices?.[0]?.delta;
        if (delta && typeof delta.content === 'string' && delta.content !== '') {
            r.content_events++;
            r.content += delta.content;
            arrivals.push(now());
        }
    };

    const req = http.request(base + path, {
        method: 'POST',
        headers: {'content-type': 'application/json', authorization: 'Bearer sk-dummy'},
    });
    req.on('response', (res) => {
        r.status = res.statusCode;
        r['content-type'] = res.headers['content-type'];
        r.headers_ms = +now().toFixed(1);
        res.setEncoding('utf8');
        res.on('data', (s) => {
            buf += s;
            let m;
            while ((m = /\r\n\r\n|\n\n|\r\r/.exec(buf))) {
                onEvent(buf.slice(0, m.index));
                buf = buf.slice(m.index + m[0].length);
            }
        });
        res.on('end', () => finish('end'));
        res.on('error', () => finish('error'));
    });
    req.on('error', () => finish('error'));
    req.end(body);
    setTimeout(() => finish('timeout'), timeoutMs).unref();
    // Keep the loop alive until the timeout even when the stream is silent.
    setTimeout(() => {}, timeoutMs + 1000);
}

main();
