#!/usr/bin/env node
// Writes the fixture files a benchmark peer needs for one workload into a directory.
//
//   node gen-fixtures.js aimock|wiremock throughput|stall|timing DIR
//
// aimock:   DIR/fixtures.json, one catch-all fixture (an empty `match` matches every request).
// wiremock: DIR/mappings/stream.json and DIR/__files/stream.sse, the body pre-encoded in the
//           bytes Faultline's openai-chat encoder sends (mock_server/dialect_openai_chat.c).
//
// The workloads (all openai-chat, streamed), from the benchmark brief (issue 6):
//   throughput  2,000 content events, no delay
//   stall       headers, then the connection held open with no content
//   timing      50 content events 20 ms apart
// The content event k carries "tok<k> " ("tok1 ", "tok2 ", ...). Environment overrides, so the
// peers can follow the Faultline workload files if those change:
//   FL_PEER_EVENTS       content events (throughput and timing)
//   FL_PEER_INTERVAL_MS  ms between content events (timing)
//   FL_PEER_TTFT_MS      ms from the role event to the first content event (timing)
//   FL_PEER_KEEPALIVE_MS ms between WireMock's stall keep-alive comments (default 15000)
//   FL_PEER_TEXT         numbered ("tok1 ", "tok2 ", ...) or word ("tok", " tok", " tok", ...,
//                        Faultline's `chunking: word` of "tok tok tok ...")
// Exit status: 0 written; 2 usage; 3 the peer cannot do the workload (reason on stderr).
'use strict';

const fs = require('fs');
const path = require('path');

// Node's setTimeout clamps anything above 2^31-1 ms to 1 ms; WireMock's totalDuration is a Java
// int. Both peers' longest wait is therefore 2^31-1 ms, about 24.8 days.
const MAX_DELAY_MS = 2147483647;
const MODEL = 'gpt-4o-mini';
// WireMock's stall sends one unit every keep-alive period (15 s, as Faultline's stall workload)
// for one hour. A longer hold costs WireMock memory per stream, since it copies the whole body
// into its chunks for every response.
const WIREMOCK_STALL_MS = 3600000;

function envInt(name, dflt) {
    const v = process.env[name];
    if (v === undefined || v === '')
        return dflt;
    if (!/^[0-9]+$/.test(v))
        throw new Error(`${name}: not a non-negative integer: ${v}`);
    return Number(v);
}

/** The workload's parameters: events, ttft and interval in ms, the content pieces. */
function workload(name) {
    const text = process.env.FL_PEER_TEXT || 'numbered';
    if (text !== 'numbered' && text !== 'word')
        throw new Error(`FL_PEER_TEXT: numbered or word, not ${text}`);
    const piece = (k) => (text === 'word' ? (k === 1 ? 'tok' : ' tok') : `tok${k} `);
    let w;
    if (name === 'throughput')
        w = {events: envInt('FL_PEER_EVENTS', 2000), ttft: 0, interval: 0};
    else if (name === 'timing')
        w = {
            events: envInt('FL_PEER_EVENTS', 50),
            ttft: envInt('FL_PEER_TTFT_MS', 0),
            interval: envInt('FL_PEER_INTERVAL_MS', 20),
        };
    else if (name === 'stall')
        w = {events: 1, ttft: 0, interval: 0};
    else
        return null;
    if (w.events < 1)
        throw new Error('FL_PEER_EVENTS: at least 1');
    w.pieces = [];
    for (let k = 1; k <= w.events; k++)
        w.pieces.push(piece(k));
    return w;
}

// ---- aimock ---------------------------------------------------------------------------------
//
// aimock streams a fixture's `blocks` in order and cuts each text block into `chunkSize`
// characters, one chat.completion.chunk per cut (dist/helpers.js, buildContentWithToolCallsChunks),
// so one block per content event with a chunkSize above the longest piece gives exactly our
// events. Its stream is [role chunk, content chunks..., finish chunk], then `data: [DONE]` at
// once (dist/sse-writer.js, writeSSEStream). `recordedTimings` sets the wait before each chunk:
// ttftMs before the role chunk, interChunkDelaysMs[i] before chunk i+1; replaySpeed defaults to 1.

function aimockFixture(name, w) {
    const longest = Math.max(...w.pieces.map((p) => p.length));
    const fixture = {
        match: {},
        response: {blocks: w.pieces.map((text) => ({type: 'text', text}))},
        chunkSize: longest + 1,
    };
    if (name === 'timing') {
        // role at 0, first content after ttft, then every interval, finish at once after the
        // last content event (as Faultline closes the stream).
        const gaps = [w.ttft];
        for (let k = 2; k <= w.events; k++)
            gaps.push(w.interval);
        gaps.push(0);
        fixture.recordedTimings = {
            ttftMs: 0,
            interChunkDelaysMs: gaps,
            totalDurationMs: gaps.reduce((a, b) => a + b, 0),
        };
    } else if (name === 'stall') {
        // The role chunk (an empty content delta) commits the headers; the first content chunk
        // waits the longest timer Node allows. aimock has no keep-alive for OpenAI streams.
        fixture.recordedTimings = {
            ttftMs: 0,
            interChunkDelaysMs: [MAX_DELAY_MS, 0],
            totalDurationMs: MAX_DELAY_MS,
        };
    }
    return {fixtures: [fixture]};
}

// ---- WireMock -------------------------------------------------------------------------------
//
// WireMock's chunkedDribbleDelay {numberOfChunks, totalDuration} cuts the body into
// numberOfChunks pieces of equal byte length (the last takes the remainder) and sleeps
// totalDuration/numberOfChunks ms before writing each piece, the first included; the headers go
// out with the first piece (observed with 3.13.2). To make each piece one SSE event, every
// "unit" (an event, or a filler comment for a slot with no event) is padded to the same length
// with JSON whitespace (or spaces in a comment), which any SSE and JSON parser ignores.

/** The chunk object in Faultline's key order (dialect_openai_chat.c, chunk_new). */
function chatChunk(id, created, delta, finish) {
    return {
        id,
        object: 'chat.completion.chunk',
        created,
        model: MODEL,
        system_fingerprint: 'fp_faultline',
        choices: [{index: 0, delta, logprobs: null, finish_reason: finish}],
    };
}

/** The SSE events of the stream as Faultline encodes it: role, content..., finish, [DONE]. */
function faultlineEvents(w) {
    const id = 'chatcmpl-' + '0'.repeat(20) + 'fa17';
    const created = Math.floor(Date.now() / 1000);
    const ev = (obj) => `data: ${JSON.stringify(obj)}\n\n`;
    return {
        role: ev(chatChunk(id, created, {role: 'assistant', content: ''}, null)),
        content: w.pieces.map((p) => ev(chatChunk(id, created, {content: p}, null))),
        finish: ev(chatChunk(id, created, {}, 'stop')),
        done: 'data: [DONE]\n\n',
    };
}

/** Pads one `data: {json}\n\n` event (or several) to len bytes with spaces before its last `}`. */
function padEvent(ev, len) {
    const n = len - Buffer.byteLength(ev);
    if (n === 0)
        return ev;
    const at = ev.lastIndexOf('}');
    return ev.slice(0, at) + ' '.repeat(n) + ev.slice(at);
}

/** A comment unit of len bytes (len >= 4): ":" + spaces + "\n\n". */
function comment(len) {
    return ':' + ' '.repeat(len - 3) + '\n\n';
}

/** Pads each unit to the longest; a null unit becomes a comment. Returns the joined body. */
function equalUnits(units) {
    const len = Math.max(4, ...units.filter((u) => u !== null).map((u) => Buffer.byteLength(u)));
    return units
        .map((u) => (u === null ? comment(len) : u.startsWith('data: {') ? padEvent(u, len) : u))
        .join('');
}

function gcd(a, b) {
    return b === 0 ? a : gcd(b, a % b);
}

function wiremockFiles(name, w) {
    const e = faultlineEvents(w);
    const response = {
        status: 200,
        bodyFileName: 'stream.sse',
        headers: {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'},
    };
    let body;
    if (name === 'throughput') {
        // No delay: WireMock writes the whole body at once, with Transfer-Encoding: chunked.
        body = e.role + e.content.join('') + e.finish + e.done;
    } else if (name === 'timing') {
        // Slots of g ms, g the gcd of ttft and interval; the role event takes slot 0, content
        // event k slot (ttft + (k-1)*interval)/g, the finish event and [DONE] share the last
        // content event's slot. Every piece arrives one slot late (WireMock sleeps first).
        const g = w.interval === 0 ? 0 : w.ttft === 0 ? w.interval : gcd(w.ttft, w.interval);
        if (g === 0)
            return {err: 'timing with interval 0 is the throughput workload'};
        const slots = (w.ttft + (w.events - 1) * w.interval) / g + 1;
        const units = new Array(slots).fill(null);
        const add = (s, ev) => {
            units[s] = (units[s] === null ? '' : units[s]) + ev;
        };
        add(0, e.role);
        for (let k = 1; k <= w.events; k++)
            add((w.ttft + (k - 1) * w.interval) / g, e.content[k - 1]);
        add(slots - 1, e.finish + e.done);
        if (slots * g > MAX_DELAY_MS)
            return {err: 'timing stream longer than WireMock totalDuration (2^31-1 ms)'};
        body = equalUnits(units);
        response.chunkedDribbleDelay = {numberOfChunks: slots, totalDuration: slots * g};
    } else {
        // Stall: the role event, then a comment every 15 s for an hour. WireMock cannot send
        // headers and then wait: its first piece (and the headers) comes after one interval.
        const keepalive = envInt('FL_PEER_KEEPALIVE_MS', 15000);
        if (keepalive < 1)
            throw new Error('FL_PEER_KEEPALIVE_MS: at least 1');
        const n = Math.max(2, Math.ceil(WIREMOCK_STALL_MS / keepalive));
        const units = new Array(n).fill(null);
        units[0] = e.role;
        body = equalUnits(units);
        response.chunkedDribbleDelay = {numberOfChunks: n, totalDuration: n * keepalive};
    }
    const mapping = {
        request: {method: 'POST', urlPath: '/v1/chat/completions'},
        response,
    };
    return {mapping, body};
}

function main(argv) {
    const [peer, name, dir] = argv;
    if (!['aimock', 'wiremock'].includes(peer) || !dir) {
        process.stderr.write('usage: gen-fixtures.js aimock|wiremock throughput|stall|timing DIR\n');
        return 2;
    }
    const w = workload(name);
    if (!w) {
        process.stderr.write(`gen-fixtures.js: unknown workload ${name}\n`);
        return 2;
    }
    if (peer === 'aimock') {
        fs.mkdirSync(dir, {recursive: true});
        fs.writeFileSync(path.join(dir, 'fixtures.json'), JSON.stringify(aimockFixture(name, w)));
        return 0;
    }
    const r = wiremockFiles(name, w);
    if (r.err) {
        process.stderr.write(`gen-fixtures.js: wiremock: ${r.err}\n`);
        return 3;
    }
    fs.mkdirSync(path.join(dir, 'mappings'), {recursive: true});
    fs.mkdirSync(path.join(dir, '__files'), {recursive: true});
    fs.writeFileSync(path.join(dir, 'mappings', 'stream.json'), JSON.stringify(r.mapping));
    fs.writeFileSync(path.join(dir, '__files', 'stream.sse'), r.body);
    return 0;
}

try {
    process.exitCode = main(process.argv.slice(2));
} catch (err) {
    process.stderr.write(`gen-fixtures.js: ${err.message}\n`);
    process.exitCode = 2;
}
