# An httpx client that retries a dropped stream, tested with Faultline's pytest plugin.
import json

import httpx


def ask(base_url, prompt):  # the code under test: stream a chat answer, retry once
    for attempt in range(2):
        try:
            body = {"model": "gpt-4o-mini", "stream": True,
                    "messages": [{"role": "user", "content": prompt}]}
            with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=5) as r:
                r.raise_for_status()
                lines = [line for line in r.iter_lines() if line.startswith("data: {")]
            return "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                           for line in lines)
        except httpx.HTTPError:
            if attempt:
                raise


def test_recovers_from_a_reset(faultline):
    faultline.add_scenario({"faultline": 1, "name": "flaky", "dialect": "openai-chat",
                            "response": {"text": "Hello from Faultline."},
                            "attempts": [{"faults": [{"reset": {"at": {"event": 2}}}]}, {}]})
    output = ask(faultline.base_url, "Say hello.")
    assert faultline.judge(output=output).verdict == "recovered"
