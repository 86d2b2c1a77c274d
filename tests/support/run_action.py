#!/usr/bin/env python3
"""Runs a composite GitHub Action's steps on this machine the way a runner does, for the tests.

    run_action.py check ACTION_DIR
        Parses ACTION_DIR/action.yml and checks its shape: a composite action, bash run steps,
        every declared input referenced by some step, every INPUT_* variable a step sets read
        by scripts/action.sh, and every INPUT_* the script reads set by a step.

    run_action.py run ACTION_DIR NAME=VALUE...
        Runs the steps with those inputs (the declared defaults for the rest; a missing required
        input is an error). For each step: `if:` is evaluated; `${{ }}` expressions in env,
        with and if are substituted (inputs, steps.<id>.outputs, github.action_path,
        github.workspace, runner.temp, runner.os); a run step runs as
        `bash --noprofile --norc -eo pipefail FILE` with the step's env, GITHUB_ACTION_PATH and
        fresh GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH files, read back afterwards like the
        runner does (outputs for later expressions, env and path for later steps). The only
        `uses:` understood is actions/cache: restored from and saved to FL_ACTION_CACHE (a
        folder of KEY.tar files), saved in a post step when the job succeeded and the key
        missed. After a failed step the rest are skipped. Prints the action's outputs as JSON
        on stdout; exits with the failed step's status, or 0.

The environment (RUNNER_TEMP, GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, ...) is the caller's,
as the runner's is the job's. Unknown expression syntax or `uses:` raises: the action must
stay within what this runner proves.
"""
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
NAME = r"[A-Za-z_][A-Za-z0-9_-]*"


def load(action_dir):
    with open(os.path.join(action_dir, "action.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def lookup(ref, ctx):
    """The value of a context reference such as inputs.min-score or steps.x.outputs.y."""
    m = re.fullmatch(rf"inputs\.({NAME})", ref)
    if m:
        if m.group(1) not in ctx["inputs"]:
            raise ValueError(f"undeclared input in expression: {ref}")
        return ctx["inputs"][m.group(1)]
    m = re.fullmatch(rf"steps\.({NAME})\.outputs\.({NAME})", ref)
    if m:
        return ctx["steps"].get(m.group(1), {}).get(m.group(2), "")
    fixed = {
        "github.action_path": ctx["action_path"],
        "github.workspace": os.environ.get("GITHUB_WORKSPACE", os.getcwd()),
        "runner.temp": os.environ["RUNNER_TEMP"],
        "runner.os": os.environ.get("RUNNER_OS", "Linux"),
    }
    if ref in fixed:
        return fixed[ref]
    raise ValueError(f"unsupported expression: {ref}")


def evaluate(expr, ctx):
    """A value: a context reference, a quoted literal, or A == B / A != B."""
    expr = expr.strip()
    m = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", expr)
    if m:
        a, b = evaluate(m.group(1), ctx), evaluate(m.group(3), ctx)
        return (a == b) if m.group(2) == "==" else (a != b)
    if expr in ("success()", "always()"):
        return True
    m = re.fullmatch(r"'((?:[^']|'')*)'", expr)
    if m:
        return m.group(1).replace("''", "'")
    return lookup(expr, ctx)


def substitute(text, ctx):
    def one(m):
        v = evaluate(m.group(1), ctx)
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    return EXPR.sub(one, str(text))


def condition(step, ctx):
    cond = step.get("if")
    if cond is None:
        return True
    cond = str(cond)
    m = EXPR.fullmatch(cond.strip())
    v = evaluate(m.group(1) if m else cond, ctx)
    return bool(v)


def read_kv_file(path):
    """KEY=VALUE lines and KEY<<DELIM heredocs, as GITHUB_OUTPUT and GITHUB_ENV hold them."""
    out = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            value = []
            while i < len(lines) and lines[i] != delim:
                value.append(lines[i])
                i += 1
            i += 1
            out[key] = "\n".join(value)
        else:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def cache_restore(with_, ctx, posts):
    store = os.environ["FL_ACTION_CACHE"]
    path, key = substitute(with_["path"], ctx), substitute(with_["key"], ctx)
    if not key:
        raise ValueError("actions/cache: empty key")
    archive = os.path.join(store, re.sub(r"[^A-Za-z0-9._-]", "_", key) + ".tar")
    if os.path.exists(archive):
        with tarfile.open(archive) as t:
            t.extractall("/", filter="tar") if hasattr(tarfile, "data_filter") else t.extractall("/")
        print(f"run_action: cache restored from {key}", file=sys.stderr)
        return {"cache-hit": "true"}

    def save():
        if not os.path.isdir(path):
            print(f"run_action: cache path {path} missing, not saved", file=sys.stderr)
            return
        os.makedirs(store, exist_ok=True)
        with tarfile.open(archive, "w") as t:
            t.add(path, arcname=os.path.abspath(path).lstrip("/"))
        print(f"run_action: cache saved as {key}", file=sys.stderr)

    posts.append(save)
    print(f"run_action: cache miss for {key}", file=sys.stderr)
    return {"cache-hit": ""}


def run_step(step, ctx, job_env, job_path):
    if step.get("shell") != "bash":
        raise ValueError(f"step {step.get('id')}: only shell: bash is supported")
    env = dict(os.environ)
    env.update(job_env)
    if job_path:
        env["PATH"] = os.pathsep.join(reversed(job_path)) + os.pathsep + env.get("PATH", "")
    for k, v in (step.get("env") or {}).items():
        env[k] = substitute(v, ctx)
    with tempfile.TemporaryDirectory() as d:
        files = {n: os.path.join(d, n) for n in ("output", "env", "path", "step.sh")}
        for n in ("output", "env", "path"):
            open(files[n], "w").close()
        with open(files["step.sh"], "w", encoding="utf-8") as f:
            f.write(substitute(step["run"], ctx))
        env.update(GITHUB_ACTION_PATH=ctx["action_path"], GITHUB_OUTPUT=files["output"],
                   GITHUB_ENV=files["env"], GITHUB_PATH=files["path"])
        # the step's stdout is log, like stderr; stdout here is for the action's outputs
        rc = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", files["step.sh"]],
                             env=env, stdout=sys.stderr)
        outputs = read_kv_file(files["output"])
        job_env.update(read_kv_file(files["env"]))
        with open(files["path"], encoding="utf-8") as f:
            job_path.extend(p for p in f.read().split("\n") if p)
    return rc, outputs


def run(action_dir, given):
    action = load(action_dir)
    inputs = {}
    for name, spec in (action.get("inputs") or {}).items():
        spec = spec or {}
        if name in given:
            inputs[name] = given.pop(name)
        elif spec.get("required") and "default" not in spec:
            raise SystemExit(f"run_action: required input '{name}' not given")
        else:
            inputs[name] = str(spec.get("default", ""))
    if given:
        raise SystemExit(f"run_action: undeclared inputs: {', '.join(given)}")
    ctx = {"inputs": inputs, "steps": {}, "action_path": os.path.abspath(action_dir)}
    job_env, job_path, posts, status = {}, [], [], 0
    for step in action["runs"]["steps"]:
        sid = step.get("id") or f"step{len(ctx['steps'])}"
        if status or not condition(step, ctx):
            ctx["steps"][sid] = {}
            continue
        if "uses" in step:
            if not re.fullmatch(r"actions/cache@v\d+", step["uses"]):
                raise ValueError(f"unsupported uses: {step['uses']}")
            ctx["steps"][sid] = cache_restore(step.get("with") or {}, ctx, posts)
            continue
        rc, outputs = run_step(step, ctx, job_env, job_path)
        ctx["steps"][sid] = outputs
        if rc:
            print(f"run_action: step {sid} failed with exit status {rc}", file=sys.stderr)
            status = rc
    if status == 0:
        for post in posts:
            post()
    outputs = {k: substitute(v.get("value", ""), ctx) for k, v in (action.get("outputs") or {}).items()}
    print(json.dumps(outputs))
    return status


def check(action_dir):
    action = load(action_dir)
    problems = []
    if (action.get("runs") or {}).get("using") != "composite":
        problems.append("runs.using is not composite")
    steps = action["runs"].get("steps") or []
    text = yaml.safe_dump(steps)
    with open(os.path.join(action_dir, "scripts", "action.sh"), encoding="utf-8") as f:
        script = f.read()
    for step in steps:
        if "run" in step and step.get("shell") != "bash":
            problems.append(f"step {step.get('id')}: a run step needs shell: bash")
    for name in action.get("inputs") or {}:
        if not re.search(rf"inputs\.{re.escape(name)}(?![A-Za-z0-9_-])", text):
            problems.append(f"input '{name}' is declared but no step uses it")
    set_vars = set()
    for step in steps:
        for var, value in (step.get("env") or {}).items():
            if var.startswith("INPUT_"):
                set_vars.add(var)
                if not re.search(rf"\$\{{?{var}(?![A-Za-z0-9_])", script):
                    problems.append(f"{var} ({value}) is set but scripts/action.sh never reads it")
    for var in sorted(set(re.findall(r"\$\{?(INPUT_[A-Z0-9_]+)", script)) - set_vars):
        problems.append(f"scripts/action.sh reads {var}, which no step sets")
    for p in problems:
        print(f"run_action check: {p}", file=sys.stderr)
    if not problems:
        print(json.dumps({"inputs": sorted(action.get("inputs") or {}),
                          "outputs": sorted(action.get("outputs") or {})}))
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "check":
        return check(argv[2])
    if len(argv) >= 3 and argv[1] == "run":
        given = {}
        for arg in argv[3:]:
            name, sep, value = arg.partition("=")
            if not sep:
                raise SystemExit(f"run_action: NAME=VALUE expected, not '{arg}'")
            given[name] = value
        return run(argv[2], given)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
