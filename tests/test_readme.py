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


def test_the_cheap_readme_commands_run(tmp_path, monkeypatch, capsys):
    from advantage.cli import main

    monkeypatch.chdir(tmp_path)
    heavy = ("tour", "--backend", "--address", "1000000", "10000000", "100000", "audit", "leace")
    heavy += ("train", "behaviour", "clear")  # lm: training models, or deleting the shared cache
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
