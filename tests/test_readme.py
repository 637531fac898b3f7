"""The README's code runs as written, and its Quickstart names the commands CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_readme_example_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.ci_low > 0.95 and result.game == "xor-cipher" and result.adversary == "repeat"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"```bash\n(pip install torch.*pytest.*)\n```", readme).group(1)
    assert command in ci


def _readme_commands() -> list[list[str]]:
    import shlex

    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#", line)[0].strip()
            if line.startswith("advantage "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_every_readme_command_parses():
    from advantage.cli import parser

    commands = _readme_commands()
    assert len(commands) > 20
    for argv in commands:
        args = parser().parse_args(argv)
        assert callable(args.handler), argv


def _readme_files() -> dict[str, str]:
    """The README's files: python blocks whose first line is ``# NAME.py``."""
    text = (ROOT / "README.md").read_text()
    files = {}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        named = re.match(r"# (\w+\.py)\n", block)
        if named:
            files[named.group(1)] = block
    return files


def test_the_cheap_readme_commands_run(tmp_path, monkeypatch, capsys, user_imports):
    from advantage.cli import main

    monkeypatch.chdir(tmp_path)
    for name, code in _readme_files().items():  # what --import names
        (tmp_path / name).write_text(code)
    heavy = ("tour", "--backend", "--address", "1000000", "10000000", "100000", "audit", "leace")
    heavy += ("train", "behaviour", "clear")  # lm: training models, or deleting the shared cache
    heavy += ("best-of-n-scaling",)  # 1,024 tries a trial: about half a minute each
    ran = 0
    for argv in _readme_commands():
        if any(word in argv for word in heavy) or argv[0] == "show":
            continue
        status = main(argv)
        # check exits 1 when it blames the algorithm or an assumption, as the README says
        expected = {1} if argv[0] == "check" and any("=" in a for a in argv) else {0}
        assert status in expected, (argv, capsys.readouterr().err)
        ran += 1
    assert ran >= 10


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_your_own_game_on_the_command_line(tmp_path, monkeypatch, capsys, user_imports):
    """The section's file and commands run as written, with the figures it states."""
    import json
    import os
    import shlex
    import subprocess
    import sys

    from advantage.cli import main

    section = _section("Your own game on the command line")
    assert "# coin.py" in section and "coin.py" in _readme_files()
    for group in ("advantage.games", "advantage.adversaries", "advantage.proofs"):
        assert f"\n{group} =\n" in section, group
    monkeypatch.chdir(tmp_path)
    (tmp_path / "coin.py").write_text(_readme_files()["coin.py"])
    (commands,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [re.split(r"\s#", line)[0].strip() for line in commands.splitlines() if line.strip()]
    assert len(lines) == 3
    run, listing, module = (shlex.split(line) for line in lines)

    assert main([*run[1:], "--json"]) == 0  # near 2·0.75 − 1 = 0.5, as the text says
    result = json.loads(capsys.readouterr().out)
    assert result["ci_low"] < 0.5 < result["ci_high"]
    assert main(listing[1:]) == 0
    assert "chance the flip shows the bit" in capsys.readouterr().out

    variable, value = module[0].split("=")
    assert variable == "ADVANTAGE_IMPORT" and module[1:4] == ["python", "-m", "advantage"]
    done = subprocess.run(
        [sys.executable, "-m", "advantage", *module[4:], "--json"],
        env=dict(os.environ, ADVANTAGE_IMPORT=value),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    fair = json.loads(done.stdout)  # p=0.5: the coin says nothing, the interval holds 0
    assert fair["params"]["p"] == 0.5 and fair["ci_low"] <= 0 <= fair["ci_high"]


def _verdict_commands() -> list[tuple[list[str], str]]:
    """The README's `advantage check` commands whose comment names the verdict they show."""
    import shlex

    text = (ROOT / "README.md").read_text()
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        command, _, comment = line.partition("#")
        words = comment.split()
        if command.startswith("advantage check ") and "--adversary" in command and words:
            found.append((shlex.split(command)[1:], words[0].rstrip(":")))
    return found


def test_every_readme_check_shows_the_verdict_it_names(capsys):
    """Each such command fixes its seed, and shows the verdict its comment names; the
    "consistent" example's interval holds 0, as the text says."""
    import json

    from advantage.cli import main

    commands = _verdict_commands()
    verdicts = {verdict for _, verdict in commands}
    assert {"consistent", "algorithm", "assumption:prf"} <= verdicts
    for argv, verdict in commands:
        assert "--seed" in argv, argv
        if "--trials" in argv and int(argv[argv.index("--trials") + 1]) > 1000:
            continue  # the larger runs are left to the tests of their domains
        main([*argv, "--json"])
        report = json.loads(capsys.readouterr().out)
        assert report["verdict"] == verdict, argv
        if argv[:4] == ["check", "ctr-prf", "--adversary", "ecb-repeat"]:
            (theorem,) = [row for row in report["intervals"] if row["role"] == "theorem"]
            assert theorem["ci_low"] <= 0 <= theorem["ci_high"]
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "A 95% interval misses the true value 5% of the time" in text


def test_the_readme_counts_the_tours_rows():
    from advantage import tour

    text = " ".join(_section("The command line").split())
    played = len(tour.playing.select(tour.ROWS))
    assert f"`advantage tour` plays {played} rows" in text
    assert "advantage/tour/catalogue.py" in text and (ROOT / "advantage/tour/catalogue.py").exists()
