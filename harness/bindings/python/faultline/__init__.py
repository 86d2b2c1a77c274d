"""Faultline for Python test suites: spawns ``faultline serve`` and talks to its control API.

Standard library only (subprocess, urllib, json). See README.md, and the main README's
"Testing inside your test suite" for the API underneath.
"""

import json
import os
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["VERSION", "Faultline", "FaultlineError", "Judgement", "Session"]

#: The Faultline version this binding is released with.
VERSION = "0.1.0"


class FaultlineError(Exception):
    """An answer of the control API that was not 2xx."""

    def __init__(self, message, status, body):
        super().__init__(message)
        self.status = status
        self.body = body
        #: The loader's diagnostics ("request-body:LINE:COL: field: message") for a bad scenario.
        self.diagnostics = ((body or {}).get("error") or {}).get("diagnostics") or []


class Judgement(dict):
    """The judge's answer (a run's object of ``faultline run``'s JSON report); keys read as
    attributes too: ``result.verdict``, ``result.findings``, ``result.score``, ``result.reason``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _call(base, method, path, body=None, timeout=30):
    data = None
    headers = {}
    if body is not None:
        if isinstance(body, str):
            data, headers["content-type"] = body.encode(), "application/yaml"
        else:
            data, headers["content-type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            text = res.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            doc = json.loads(text)
        except ValueError:
            doc = {"error": {"message": text}}
        err = doc.get("error") or {}
        diags = "".join("\n  " + d for d in err.get("diagnostics") or [])
        raise FaultlineError(
            f"{method} {path}: {e.code} {err.get('message', text)}{diags}", e.code, doc
        ) from None


class Session:
    """One test's view of the server: its own attempt counters, journal and scenarios."""

    def __init__(self, server, info):
        self.server = server
        self.id = info["id"]
        #: http://HOST:PORT/t/ID: what Anthropic's and Gemini's SDKs take as their base URL.
        self.url = info["base_url"]
        #: Base URL per dialect: openai-chat, openai-responses, anthropic-messages, gemini.
        self.base_urls = info["base_urls"]
        #: The OpenAI SDKs' base URL (ends in /v1).
        self.base_url = self.base_urls["openai-chat"]
        #: The scenario added last: what judge() judges when given none.
        self.scenario = None
        self.closed = False

    def _call(self, method, path, body=None):
        return _call(self.server.url, method, f"/t/{self.id}{path}", body)

    def add_scenario(self, scenario):
        """Adds (or replaces) a scenario in this session: YAML text, or a dict in the same
        format (sent as JSON). Returns {name, dialect, scope, session, replaced}; raises
        FaultlineError with .diagnostics when the loader refuses it."""
        added = self._call("POST", "/_faultline/scenarios", scenario)
        self.scenario = added["name"]
        return added

    def remove_scenario(self, name):
        """Removes a scenario this session added."""
        return self._call("DELETE", "/_faultline/scenarios/" + urllib.parse.quote(name))

    def scenarios(self):
        """The scenarios this session sees: its own, then global ones, then files."""
        return self._call("GET", "/_faultline/scenarios")["scenarios"]

    def journal(self, scenario=None):
        """This session's requests from the journal, oldest first (of one scenario if named)."""
        q = "?scenario=" + urllib.parse.quote(scenario) if scenario else ""
        return self._call("GET", "/_faultline/journal" + q)["requests"]

    def judge(self, output="", error=None, exit_code=None, timed_out=False, signal=None,
              scenario=None):
        """Faultline's verdict on what the code under test did in this session: the verdict,
        findings, score, reason and evidence ``faultline run`` gives. output is what it
        produced; error the exception it raised (or a message), if any; timed_out True when
        the test gave up waiting (judged as a hung client); exit_code defaults to 1 with an
        error, else 0."""
        name = scenario or self.scenario
        if not name:
            raise ValueError("judge(): no scenario named and none added to this session")
        message = "" if error is None else str(error) or type(error).__name__
        body = {"session": self.id, "scenario": name, "output": str(output),
                "error_message": message,
                "exit_code": exit_code if exit_code is not None else (1 if message else 0)}
        if timed_out:
            body["timed_out"] = True
        if signal:
            body["signal"] = signal
        return Judgement(_call(self.server.url, "POST", "/_faultline/judge", body))

    def close(self):
        """Ends the session; the server frees its scenarios and counters. Idempotent."""
        if not self.closed:
            self.closed = True
            _call(self.server.url, "DELETE", f"/_faultline/sessions/{self.id}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Faultline:
    """A running ``faultline serve``. Start with Faultline.start(); use as a context manager or
    call close()."""

    def __init__(self, proc, url):
        self.proc = proc
        #: http://127.0.0.1:PORT
        self.url = url

    @classmethod
    def start(cls, binary=None, scenarios=(), args=(), timeout=10.0):
        """Spawns ``faultline serve --port 0`` and returns once it prints its URL. binary: the
        program (default $FAULTLINE_BIN, else "faultline" on PATH); scenarios: files or folders
        served from the start; args: more ``faultline serve`` options; timeout in seconds."""
        binary = binary or os.environ.get("FAULTLINE_BIN") or "faultline"
        cmd = [binary, "serve", "--host", "127.0.0.1", "--port", "0", *args, *scenarios]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            raise FaultlineError(f"cannot start {binary}: {e} (set FAULTLINE_BIN)", 0, None) from e
        line = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        url = line[0].decode().strip() if line else ""
        if not url.startswith("http://"):
            proc.kill()
            _, err = proc.communicate()
            raise FaultlineError(
                f"faultline serve printed no URL (exit {proc.returncode}): "
                f"{err.decode(errors='replace').strip()}", 0, None)
        # Keep draining stderr so the server never blocks on a full pipe.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        return cls(proc, url)

    def session(self):
        """A new session (POST /_faultline/sessions). Close it when the test is done."""
        return Session(self, _call(self.url, "POST", "/_faultline/sessions"))

    def add_scenario(self, scenario):
        """Adds a scenario every session sees (unless it has its own of that name)."""
        return _call(self.url, "POST", "/_faultline/scenarios", scenario)

    def journal(self, session=None, scenario=None):
        """The whole journal, or one session's / scenario's part of it."""
        q = urllib.parse.urlencode({k: v for k, v in (("session", session),
                                                      ("scenario", scenario)) if v})
        return _call(self.url, "GET", "/_faultline/journal" + ("?" + q if q else ""))["requests"]

    def close(self):
        """Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it. Idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
