"""The Python binding against the real binary ($FAULTLINE_BIN), through its pytest plugin: a
server started with no scenario, sessions that isolate attempts and scenarios, the loader's
diagnostics, the journal per session, the judge's verdicts, and closing.
Run: FAULTLINE_BIN=build/faultline PYTHONPATH=harness/bindings/python \\
     python3 -m pytest -p faultline.pytest_plugin harness/bindings/python/tests"""

import json
import pathlib
import re
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

import faultline as fl

ANSWER = "Four small words arrive."
FLAKY = {"faultline": 1, "name": "flaky", "dialect": "openai-chat",
         "response": {"text": ANSWER, "ttft_ms": 10, "interval_ms": 5},
         "attempts": [{"faults": [{"reset": {"at": {"event": 2}}}]}, {}]}


def ask(base_url, retries=1):
    """A minimal streaming Chat Completions client with retries (urllib: no dependency)."""
    for attempt in range(retries + 1):
        try:
            body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": []}).encode()
            req = urllib.request.Request(base_url + "/chat/completions", data=body,
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                text = r.read().decode()
            if "data: [DONE]" not in text:
                raise OSError("stream ended early")
            return "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                           for line in text.split("\n") if line.startswith("data: {"))
        except OSError:
            if attempt == retries:
                raise
    return None


def test_versioned_with_faultline(faultline_server):
    pyproject = (pathlib.Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.*)"$', pyproject, re.M).group(1) == fl.VERSION
    printed = subprocess.run([faultline_server.proc.args[0], "--version"], check=True,
                             capture_output=True, text=True).stdout
    assert printed.startswith(f"faultline {fl.VERSION} ")


def test_recovers_on_attempt_two_and_judges_recovered(faultline):
    added = faultline.add_scenario(FLAKY)
    assert (added["name"], added["scope"], added["session"]) == ("flaky", "session", faultline.id)
    output = ask(faultline.base_url)
    assert output == ANSWER
    assert [(e["session"], e["attempt"], e["end"]) for e in faultline.journal()] == [
        (faultline.id, 1, "reset"), (faultline.id, 2, "complete")]
    result = faultline.judge(output=output)
    assert (result.verdict, result.score, len(result.attempts)) == ("recovered", 100, 2)


def test_parallel_sessions_are_isolated(faultline_server):
    sessions = [faultline_server.session() for _ in range(4)]
    for i, s in enumerate(sessions):
        s.add_scenario(dict(FLAKY, response=dict(FLAKY["response"], text=f"answer {i}")))
    outputs = [None] * 4

    def run(i):
        outputs[i] = ask(sessions[i].base_url)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outputs == [f"answer {i}" for i in range(4)]
    for i, s in enumerate(sessions):
        assert [e["attempt"] for e in s.journal()] == [1, 2]
        assert s.judge(output=outputs[i]).verdict == "recovered"
        s.close()


def test_errors_truncation_and_timeouts_are_judged(faultline):
    faultline.add_scenario(FLAKY)
    with pytest.raises(OSError) as e:
        ask(faultline.base_url, retries=0)
    # failed, though a retry would have had the answer (attempt 2 is clean)
    result = faultline.judge(error=e.value)
    assert (result.verdict, result.exit["code"]) == ("gave_up", 1)
    assert faultline.judge(output="Four small").verdict == "silent_truncation"
    assert faultline.judge(timed_out=True).verdict == "hung"


def test_yaml_and_the_loader_diagnostics(faultline):
    added = faultline.add_scenario(
        "faultline: 1\nname: yaml-one\ndialect: openai-chat\nresponse:\n  text: from yaml\n")
    assert added["name"] == "yaml-one"
    assert ask(faultline.base_url) == "from yaml"
    with pytest.raises(fl.FaultlineError) as e:
        faultline.add_scenario("faultline: 1\nname: bad\ndialect: openai-chat\n"
                               "response:\n  text: x\n  ttft_ms: -1\n")
    assert e.value.status == 400
    assert e.value.diagnostics == ["request-body:6:12: response.ttft_ms: must be >= 0, got -1"]
    assert [(s["name"], s["source"]) for s in faultline.scenarios()] == [("yaml-one", "session")]


def test_a_closed_session_is_gone(faultline_server):
    s = faultline_server.session()
    s.add_scenario(FLAKY)
    s.close()
    s.close()  # idempotent
    with pytest.raises(fl.FaultlineError) as e:
        s.add_scenario(FLAKY)
    assert e.value.status == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        ask(s.base_url, retries=0)
    assert e.value.code == 404


def test_start_fails_with_the_reason(faultline_server):
    with pytest.raises(fl.FaultlineError, match="cannot start"):
        fl.Faultline.start(binary="/nonexistent/faultline")
    binary = faultline_server.proc.args[0]
    with pytest.raises(fl.FaultlineError, match=r"exit 2\)"):
        fl.Faultline.start(binary=binary, scenarios=["/nonexistent.yaml"])
    with fl.Faultline.start(binary=binary) as server:
        assert server.url.startswith("http://127.0.0.1:")
    assert server.proc.returncode is not None
