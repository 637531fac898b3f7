"""`advantage report`: every kind of input recognised, drawn into one self-contained page,
and every figure and table rendered by a real headless browser."""

from __future__ import annotations

import contextlib
import html
import io
import json
import pathlib
import re
import shlex

import pytest

from advantage import commands, inputs, tour
from advantage.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
PERFECT = ROOT / "tests" / "proofs" / "data" / "switching-perfect.toml"
DP = "-p target=adversary -p training_size=64 -p epochs=2 -p batch_size=16 -p noise_multiplier=3"

# The tour's JSON, from a few of its cheap rows: estimates with theory values, and checks.
TOUR_ROWS = [
    tour.play("otp", "guess", "0", "a guess learns nothing", trials=400),
    tour.play("otp key_reuse=true", "two-time-pad", "1", "a reused key cancels out", trials=400),
    tour.play("collision", "birthday", ">0", trials=400),
    tour.check("ctr-prf scheme=ctr-nonce-reuse", "nonce-reuse", "algorithm", trials=300),
    tour.check("ctr-prf prf=toy-linear queries=24", "linear-prf", "assumption:prf", trials=300),
]

# Every kind of input, as the command that writes it. The sweeps have seeds: whether a fit
# is flagged is a test at 5%, and the page is checked for exactly one flagged fit.
RUNS = {
    "run": "run otp -p key_reuse=true --adversary two-time-pad --trials 300",
    "ensemble": "run ind-cpa -p scheme=ecb --adversary guess --adversary ecb-repeat --trials 300",
    "certify": "certify otp --adversary guess --eps 0.2",
    "sweep": "sweep collision -p n=16 --adversary birthday --budget queries=8,16,32,64,128 "
    "--fit power-law --extrapolate 256 --trials 300 --seed 0",
    "poor-sweep": "sweep collision -p n=12 --adversary birthday --budget "
    "queries=4,8,16,32,64,128 --fit best-of-n --trials 400 --seed 0",
    "check": "check ctr-prf --adversary nonce-reuse -p scheme=ctr-nonce-reuse --trials 300",
    "check-hop": f"check {PERFECT} --adversary prp-prf-switch --trials 400",
    "audit": f"audit membership {DP} --adversary gradient-canary -a calibration=64 --trials 160",
}


def _json(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Every kind of input, written by the commands themselves: {kind: path}."""
    where = tmp_path_factory.mktemp("inputs")
    paths = {}
    for name, command in RUNS.items():
        if name == "audit":
            pytest.importorskip("torch")
        _, text = _json([*shlex.split(command), "--json"])
        paths[name] = where / f"{name}.json"
        paths[name].write_text(text)
    log = where / "run.jsonl"
    _json(["run", "otp", "--adversary", "guess", "--trials", "300", "--log", str(log), "--json"])
    paths["run-log"] = log
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tour, "ROWS", TOUR_ROWS)
        _, text = _json(["tour", "--json"])
    paths["tour"] = where / "tour.json"
    paths["tour"].write_text(text)
    return paths


@pytest.fixture(scope="module")
def page(made, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert main(["report", *map(str, made.values()), "-o", str(out)]) == 0
    return out, out.read_text()


def test_every_kind_is_recognised_from_its_content(made):
    kinds = {name: inputs.load(path).kind for name, path in made.items()}
    assert kinds == {
        "run": "run",
        "ensemble": "ensemble",
        "certify": "certify",
        "sweep": "sweep",
        "poor-sweep": "sweep",
        "check": "check",
        "check-hop": "check",
        "audit": "audit",
        "run-log": "run-log",
        "tour": "tour",
    }


def test_every_json_output_names_its_command_and_version(made):
    for name, path in made.items():
        if name == "run-log":
            continue
        data = json.loads(path.read_text())
        # the command as given, plus the seed a run drew when it was given none
        assert data["command"].startswith("advantage ") and "--json" in data["command"]
        assert re.fullmatch(r"\d+\.\d+.*|unknown", data["version"]), name
    data = json.loads(made["certify"].read_text())
    assert re.fullmatch(
        r"advantage certify otp --adversary guess --eps 0\.2 --json --seed \d+", data["command"]
    )
    assert str(data["seed"]) in data["command"]


def test_certify_records_its_confidence_sequence(made):
    data = json.loads(made["certify"].read_text())
    sequence = data["sequence"]
    trials = [point[0] for point in sequence]
    assert len(sequence) > 10 and trials == sorted(set(trials)) and trials[0] >= 1
    assert sequence[-1] == [data["trials"], data["ci_low"], data["ci_high"]]
    assert all(-1 <= low <= high <= 1 for _, low, high in sequence)
    # Early on the sequence is wide; by the stopping trial it has shrunk below eps.
    assert sequence[0][2] - sequence[0][1] > 1 and data["ci_high"] <= data["eps"]


def test_sweep_records_its_curve_and_audit_its_roc(made):
    sweep = json.loads(made["sweep"].read_text())
    budgets = [c[0] for c in sweep["curve"]]
    assert budgets[0] == 8 and budgets[-1] == pytest.approx(256) and budgets == sorted(budgets)
    assert all(low <= fit <= high for _, fit, low, high in sweep["curve"])
    if "audit" in made:
        roc = json.loads(made["audit"].read_text())["roc"]
        assert roc["fpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1
        assert roc["fpr"] == sorted(roc["fpr"]) and roc["tpr"] == sorted(roc["tpr"])
        assert roc["members"] + roc["non_members"] == 80  # the held-out half of 160


def test_the_page_is_self_contained_and_names_what_reproduces_it(page, made):
    _, text = page
    # Nothing to fetch: no scripts, no links or sources outside the page.
    assert "<script" not in text and not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert text.count("data:image/svg+xml;base64,") >= 6
    for name in ("Estimates", "Certify: guess vs otp", "Sweep: birthday vs collision", "Tour"):
        assert name in text
    assert "Check: ctr-prf with nonce-reuse" in text and "verdict: algorithm" in text
    certify = json.loads(made["certify"].read_text())
    assert f"{certify['command']} &gt; {made['certify']}" in text
    assert f"advantage report {made['certify']} -o report.html" in text
    assert "written by advantage " in text and "seed 0" in text
    assert f"advantage show {made['run-log']}" in text
    # The poor fit is flagged in red, the good one is not.
    assert text.count('<p class="verdict bad">Poor fit') == 1


def test_the_check_tree_marks_the_blamed_part(page):
    _, text = page
    # ctr-prf with nonce-reuse blames the algorithm: the theorem; switching-perfect its hop 1.
    assert re.search(
        r'<li class="node theorem blamed"><span class="role">theorem</span> <b>ctr-prf', text
    )
    assert re.search(r'<li class="node hop blamed"><span class="role">hop 1</span>', text)
    # linear-prf breaks the prf assumption (a tour row).
    assert re.search(
        r'<li class="node assumption blamed"><span class="role">assumption</span> <b>prf</b>', text
    )
    assert "advantage explain ctr-prf" in text


def test_a_tour_rows_command_reproduces_it(made):
    rows = json.loads(made["tour"].read_text())["rows"]
    estimate = next(r for r in rows if r["kind"] == "estimate" and r["params"]["key_reuse"])
    line = commands.run_line(estimate)
    assert "-p key_reuse=true" in line and "-p n=" not in line  # defaults are left out
    _, text = _json([*line.split()[1:], "--json"])
    again = json.loads(text)
    assert (again["wins"], again["ci_low"], again["level"]) == (
        estimate["wins"],
        estimate["ci_low"],
        estimate["level"],
    )
    check = next(r for r in rows if r["kind"] == "check" and r["adversary"] == "nonce-reuse")
    status, text = _json([*commands.check_line(check).split()[1:], "--json"])
    assert status == 1 and json.loads(text)["intervals"] == check["intervals"]


def test_the_same_inputs_draw_the_same_page(made, tmp_path):
    out = tmp_path / "report.html"
    files = [
        str(made["certify"]),
        str(made["sweep"]),
        str(made["audit" if "audit" in made else "check"]),
    ]
    assert main(["report", *files, "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["report", *files, "-o", str(out)]) == 0
    assert out.read_bytes() == first


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '{"a": 1}',
            "not a run log or the --json output of run, certify, sweep, check, audit or tour",
        ),
        ("hello\n", "not a run log or the --json output"),
        ("", "empty, not a run log"),
        ('{"eps": 0.1, "alpha": 0.05, "plan": 1, "trials": 3, "power": 0.9}', "not a run log"),
        ('{"decision": "below", "eps": 0.1}', "looks like certify output but lacks alpha, trials"),
        ("[1, 2, 3]", "not a run log"),
    ],
)
def test_an_unknown_file_is_refused_in_one_line(content, message, tmp_path, capsys):
    path = tmp_path / "input.json"
    path.write_text(content)
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: " in err and message in err and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def test_a_missing_file_and_an_edited_log_are_refused(made, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "r.html")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    edited = tmp_path / "edited.jsonl"
    spec, chunk = made["run-log"].read_text().splitlines()[:2]
    edited.write_text(spec + "\n" + chunk.replace('"wins": ', '"wins": 9') + "\n")
    assert main(["report", str(edited), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(edited) in err and err.count("\n") == 1


# -- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    import browser

    binary = browser.find()
    if binary is None:
        pytest.skip("no Chromium: apt-get install chromium")
    return binary


@pytest.mark.browser
def test_every_figure_and_table_renders_in_a_browser(page, chromium, tmp_path):
    import browser

    path, text = page
    shot = tmp_path / "report.png"
    found = browser.render(path, shot, binary=chromium)
    assert found["problems"] == []
    assert found["scripts"] == 0 and found["title"] == "advantage report"
    images = found["images"]
    # Every figure holds an image, and every image decoded and was laid out.
    assert len(images) == found["figures"] == text.count("<figure>") >= 6
    for image in images:
        assert image["complete"] and image["naturalWidth"] > 100 and image["naturalHeight"] > 50
        assert image["box"][0] > 100 and image["box"][1] > 50
    assert len(found["tables"]) == text.count("<table")
    for table in found["tables"]:
        assert table["rows"] >= 1 and table["box"][0] > 0 and table["box"][1] > 0
    assert len(found["sections"]) == text.count("<section")
    assert "verdict: algorithm" in found["text"] and "Poor fit" in found["text"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


@pytest.mark.browser
def test_the_browser_check_catches_a_broken_page(chromium, tmp_path):
    import browser

    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><figure><img src="data:image/png;base64,AAAA"></figure>'
        '<img src="missing.png"><script>console.error("boom")</script></body></html>'
    )
    found = browser.render(bad, tmp_path / "bad.png", binary=chromium)
    assert [image["naturalWidth"] for image in found["images"]] == [0, 0]
    assert any("boom" in problem for problem in found["problems"])
    assert any("missing.png" in problem for problem in found["problems"])


def test_the_readme_shows_a_screenshot_of_a_report():
    readme = (ROOT / "README.md").read_text()
    (link,) = set(re.findall(r"\(docs/(report[^)]*\.png)\)", readme))
    assert (ROOT / "docs" / link).stat().st_size > 50_000


def test_dollar_signs_in_a_parameter_are_drawn_as_text(tmp_path, capsys):
    # Labels are built from the user's parameter values: matplotlib must not read them as
    # math text (an unbalanced `$5^$` used to stop the report).
    run = tmp_path / "run.json"
    argv = ["run", "injection-task-failure", "--adversary", "no-injection"]
    argv += ["-a", "body=costs $5^$ total", "--trials", "20", "--seed", "1", "--json"]
    assert main(argv) == 0
    run.write_text(capsys.readouterr().out)
    out = tmp_path / "r.html"
    assert main(["report", str(run), "-o", str(out)]) == 0, capsys.readouterr().err
    assert "costs $5^$ total" in out.read_text()


def test_a_users_proof_file_is_reproduced_by_its_path_quoted(tmp_path, capsys):
    where = tmp_path / "my proofs"
    where.mkdir()
    proof = where / "user proof.toml"
    proof.write_text(PERFECT.read_text())
    argv = ["check", str(proof), "--adversary", "prp-prf-switch", "--trials", "200", "--json"]
    assert main(argv) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert data["proof"] == "user proof" and data["proof_path"] == str(proof)
    check = where / "check out.json"
    # As written now, and as written before the path was recorded (only in the command).
    for record in (data, {k: v for k, v in data.items() if k != "proof_path"}):
        check.write_text(json.dumps(record))
        out = tmp_path / "r.html"
        assert main(["report", str(check), "-o", str(out)]) == 0, capsys.readouterr().err
        text = html.unescape(out.read_text())
        assert f"advantage explain '{proof}'" in text
        assert f"advantage check '{proof}' --symbolic" in text
        assert f"{data['command']} > '{check}'" in text
        assert f"advantage report '{check}' -o report.html" in text
    # The derived command, for an output that records none, finds the file too.
    assert commands.check_line(data).startswith(f"advantage check '{proof}' --adversary")


@pytest.mark.parametrize("path", [[], ["--no-batched"]])
def test_a_cut_run_logs_reproduce_command_continues_it(tmp_path, capsys, path):
    """It took the trials from the estimate (400), not the spec (1000), and pointed --log at
    the existing file, which a run refuses: the command failed as written."""
    where = tmp_path / "my logs"
    where.mkdir()
    full, cut = where / "full.jsonl", where / "inc run.jsonl"
    argv = ["run", "otp", "--adversary", "guess", "--trials", "1000", "--seed", "7"]
    assert main([*argv, "--chunk-size", "100", *path, "--log", str(full), "--json"]) == 0
    cut.write_text("".join(full.read_text().splitlines(keepends=True)[:5]))  # 400 trials
    capsys.readouterr()
    for log, note in ((cut, "400 of 1000 trials logged"), (full, "the run that wrote the log")):
        out = tmp_path / "r.html"
        assert main(["report", str(log), "-o", str(out)]) == 0, capsys.readouterr().err
        text = html.unescape(out.read_text())
        assert note in text
        (line,) = re.findall(r"<code>(advantage run [^<]*)</code>", text)
        assert "--trials 1000" in line and line.endswith(f"--log '{log}' --resume"), line
        capsys.readouterr()
        assert main([*shlex.split(line)[1:], "--json"]) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["trials"] == 1000
