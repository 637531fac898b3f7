"""`advantage run`, `show`, `plan` and `list`: outputs, errors, and what a new user trips over."""

import argparse
import io
import re
import subprocess

import pytest
from rich.console import Console

from advantage import common
from advantage.cli import main

# What every estimate's JSON holds, besides what each command adds.
JSON_KEYS = {"game", "adversary", "params", "adversary_params", "trials", "wins", "win_rate"}
JSON_KEYS |= {"advantage", "ci_low", "ci_high", "level", "method", "seed", "seconds", "queries"}
JSON_KEYS |= {"errors", "queries_per_trial", "command", "version"}

OTP_GUESS = ("run", "otp", "--adversary", "guess")


def test_run_json_has_every_key_and_matches_theory(cli):
    reused = cli.json("run", "otp", "-p", "key_reuse=true", "--adversary", "two-time-pad",
                      "--trials", "2000", "--seed", "1")  # fmt: skip
    assert set(reused) >= JSON_KEYS
    assert reused["params"]["key_reuse"] is True and reused["trials"] == 2000
    assert reused["ci_low"] > 0.95
    fresh = cli.json("run", "otp", "--adversary", "two-time-pad", "--trials", "2000", "--seed", "1")
    assert fresh["ci_low"] <= 0 <= fresh["ci_high"]


def test_run_human_output_names_level_and_method(cli):
    out = cli.out(*OTP_GUESS, "--trials", "200", "--method", "wilson")
    assert "advantage" in out and "95% wilson" in out and "200" in out


def test_adversary_parameters_and_level(cli):
    given = ("--trials", "100", "--level", "0.9", "--seed", "3")
    data = cli.json(*OTP_GUESS[:3], "constant", "-a", "value=1", *given)
    assert data["adversary_params"] == {"value": 1} and data["level"] == 0.9
    inline = cli.json(*OTP_GUESS[:3], "constant:value=1", *given)
    assert inline["adversary_params"] == {"value": 1} and inline["wins"] == data["wins"]


def test_a_game_takes_its_parameters_inline_as_an_adversary_does(cli):
    given = ("--adversary", "two-time-pad", "--trials", "100", "--seed", "3")
    flagged = cli.json("run", "otp", "-p", "key_reuse=true", "-p", "n=8", *given)
    inline = cli.json("run", "otp:key_reuse=true,n=8", *given)
    assert inline["game"] == "otp" and inline["params"] == flagged["params"]
    assert inline["params"]["n"] == 8 and inline["wins"] == flagged["wins"] == 100
    assert cli.json("run", "otp:n=8", "-p", "n=4", *given)["params"]["n"] == 8  # inline wins
    searched = cli.json("plan", "collision:n=8", "--eps", "0.1", "--sims", "50")
    assert searched["baseline"] == 2**-8 and searched["game"] == "collision"
    cli.fails("run", "otp:nn=1", *given, match="unknown parameter of game otp: 'nn'")
    cli.fails("run", "otp:n", *given, match="otp: 'n' must look like key=value")


def test_query_counts_say_whether_per_trial_or_total(cli):
    argv = ("run", "collision", "--adversary", "birthday", "--trials", "100", "--seed", "1")
    data = cli.json(*argv)
    assert data["queries"] == {"f": 100 * 300} and data["queries_per_trial"] == {"f": 300.0}
    out = cli.out(*argv)
    assert "queries per trial f: 300 (--json: totals in queries)" in out


def test_several_adversaries_on_the_process_backend_start_its_workers_once(cli, monkeypatch):
    from games.engine import backends

    pools = []

    class Counted(backends._Pool):
        def __init__(self, count: int, task: object) -> None:
            pools.append(count)
            super().__init__(count, task)

    monkeypatch.setattr(backends, "_Pool", Counted)
    argv = ["run", "otp", "--adversary", "guess", "--adversary", "constant", "--trials", "400"]
    out = cli.json(*argv, "--backend", "process", "--workers", "2", "--chunk-size", "100")
    assert [a["trials"] for a in out["adversaries"]] == [400, 400]
    assert pools == [2]


def test_errors_are_counted_and_first_traceback_shown(capsys):
    assert main(["run", "otp", "--adversary", "constant", "-a", "value=7", "--trials", "50"]) == 0
    captured = capsys.readouterr()
    assert "invalid-answer: 50" in captured.out and "is not a bit" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "otpp", "--adversary", "guess"], "unknown game 'otpp'; did you mean otp?"),
        (["run", "otp", "--adversary", "gues"], "unknown adversary 'gues'; did you mean guess?"),
        (["run", "otp", "-p", "key_reus=1", "--adversary", "guess"], "did you mean key_reuse?"),
        (
            ["run", "otp", "-p", "key_reuse=maybe", "--adversary", "guess"],
            "key_reuse='maybe' must be true or false",
        ),
        (["run", "otp", "-p", "n=abc", "--adversary", "guess"], "n='abc' must be an integer"),
        (["run", "otp", "-p", "n", "--adversary", "guess"], "-p 'n' must look like key=value"),
        ([*OTP_GUESS, "--trials", "0"], "trials=0 must be a positive integer"),
        ([*OTP_GUESS, "--level", "1.5"], r"level=1.5 must be in \(0, 1\)"),
        ([*OTP_GUESS, "--workers", "0", "--backend", "process"], "workers=0"),
        # Ignored with the serial backend, while --address was refused there.
        ([*OTP_GUESS, "--workers", "3"], "workers=3 is for backend='process' or 'ray' only"),
        (["plan", "--eps", "1.5"], "eps=1.5"),
        (["show", "/nonexistent/run.jsonl"], "no run log at"),
        (["list", "games", "nope"], "unknown game 'nope'"),
        (["list", "proofs", "nope"], "nope"),
    ],
)
def test_bad_input_exit_2_with_message(cli, argv, message):
    cli.fails(*argv, match=message)


def test_an_unknown_adversary_points_to_the_list_of_adversaries(cli):
    err = cli.fails(*OTP_GUESS[:3], "gues", match="unknown adversary")
    assert "advantage list adversaries" in err and "adversarys" not in err


def test_adversary_for_another_game_is_refused(cli):
    from adversaries import register

    @register("only-for-prf", games=("prf",))
    class OnlyPrf:
        def __call__(self, oracles, rng):
            return 0

    cli.fails("run", "otp", "--adversary", "only-for-prf", match="written for prf, not 'otp'")


def test_log_resume_and_show(tmp_path, cli):
    log = str(tmp_path / "run.jsonl")
    run = (*OTP_GUESS, "--trials", "500", "--log", log)
    first = cli.json(*run)
    cli.fails(*run, match="--resume")
    shown = cli.json("show", log)
    assert (shown["wins"], shown["trials"], shown["ci_low"]) == (
        first["wins"],
        500,
        first["ci_low"],
    )
    cli.fails(*run, "--seed", "4", "--resume", match="records a different run")
    assert (shown["planned_trials"], shown["complete"]) == (500, True)
    # Without --seed, --resume continues with the logged run's (drawn) seed.
    resumed = cli.json(*run, "--resume")
    assert (resumed["seed"], resumed["wins"]) == (first["seed"], first["wins"])


def test_show_json_says_a_log_is_incomplete(tmp_path, cli):
    """The table said so; the JSON did not."""
    log = tmp_path / "run.jsonl"
    cli.json(
        *OTP_GUESS, "--trials", "1000", "--chunk-size", "100", "--seed", "7", "--log", str(log)
    )
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(log.read_text().splitlines(keepends=True)[:5]))  # spec + 4 chunks
    shown = cli.json("show", str(cut))
    assert (shown["trials"], shown["planned_trials"], shown["complete"]) == (400, 1000, False)
    assert "incomplete run: 400 of 1000 trials logged" in cli.out("show", str(cut))


def test_plan(cli):
    data = cli.json("plan", "--eps", "0.1")
    assert data["trials"] > 100 and data["eps"] == 0.1 and data["shape"] == "hidden-bit"
    assert cli.json("plan", "--eps", "0.05")["trials"] > data["trials"]


def test_plan_reads_the_shape_and_baseline_from_a_game(cli):
    search = cli.json("plan", "collision", "-p", "n=8", "--eps", "0.1", "--sims", "50")
    by_hand = cli.json("plan", "--shape", "search", "--baseline", str(2**-8), "--eps", "0.1",
                       "--sims", "50")  # fmt: skip
    assert search["shape"] == "search" and search["baseline"] == 2**-8
    assert search["trials"] == by_hand["trials"] and search["game"] == "collision"
    bit = cli.json("plan", "otp", "--eps", "0.1", "--sims", "50")
    assert bit["shape"] == "hidden-bit" and bit["baseline"] is None
    cli.fails("plan", "otp", "--shape", "search", "--eps", "0.1", match="otp is a hidden-bit game")
    cli.fails("plan", "-p", "n=8", "--eps", "0.1", match="name a GAME too")


@pytest.mark.parametrize("shape", [[], ["--shape", "hidden-bit"], ["--shape", "real-vs-ideal"]])
def test_plan_refuses_a_baseline_for_a_shape_that_has_none(cli, shape):
    # It was ignored without a word.
    cli.fails("plan", "--eps", "0.1", "--baseline", "0.3", *shape,
              match="drop --baseline, or give --shape search")  # fmt: skip


def test_plan_for_a_real_vs_ideal_game_counts_named_worlds(cli):
    data = cli.json("plan", "prf", "--eps", "0.1", "--sims", "50")
    shaped = cli.json("plan", "--shape", "real-vs-ideal", "--eps", "0.1", "--sims", "50")
    bit = cli.json("plan", "--eps", "0.1", "--sims", "50")
    assert data["shape"] == shaped["shape"] == "real-vs-ideal"
    # Naming a world drawn at random is a hidden bit: the same count.
    assert data["trials"] == shaped["trials"] == bit["trials"]
    assert data["counts"] == "trials in which the adversary names its world"
    out = cli.out("plan", "prf", "--eps", "0.1", "--sims", "50")
    assert "prf, a real-vs-ideal game, counting trials in which the adversary names its" in out


def test_list_names_and_descriptions(cli):
    data = cli.json("list")
    games = {row["name"]: row["summary"] for row in data["games"]}
    adversaries = {row["name"]: row for row in data["adversaries"]}
    assert "otp" in games and games["otp"].startswith("One-time pad")
    # The games an adversary plays as a list; an empty one means any game.
    assert adversaries["two-time-pad"]["games"] == ["otp"] and adversaries["guess"]["games"] == []
    plays = adversaries["autoattack"]["games"]
    assert isinstance(plays, list) and len(plays) > 1 and all(", " not in g for g in plays)
    detail = cli.json("list", "games", "otp")
    assert set(detail["parameters"]) == {"n", "key_reuse", "queries"}


def test_list_json_gives_each_parameter_its_type_default_and_help(cli):
    """What the parameters table shows, as data: a JSON reader need not parse help text."""
    parameters = cli.json("list", "games", "otp")["parameters"]
    assert parameters["n"] == {
        "type": "int",
        "default": 16,
        "help": "message length in bits",
        "choices": None,
    }
    assert parameters["key_reuse"]["type"] == "bool" and parameters["key_reuse"]["default"] is False
    adversary = cli.json("list", "adversaries", "birthday")["parameters"]
    assert adversary and all(
        set(p) == {"type", "default", "help", "choices"} for p in adversary.values()
    )


def test_list_an_adversary_without_parameters_says_so(cli):
    out = cli.out("list", "adversaries", "guess")
    assert "no parameters (nothing to set with -a)" in out and "┏" not in out


def test_list_a_proof_shows_it_as_explain_does(cli):
    out = cli.out("list", "proofs", "ctr-prf")
    assert out == cli.out("explain", "ctr-prf")
    assert cli.json("list", "proofs", "ctr-prf")["title"].startswith("CTR mode")


def test_list_shows_docstrings_without_their_markup(cli):
    out = cli.out("list", "games", "otp")
    assert "``" not in out and "key_reuse keeps the first one" in out
    listing = cli.out("list", "adversaries")
    assert "``" not in listing and ":func:`" not in listing
    assert "AutoAttack" in listing and "samples" in listing


def test_list_names_the_parameters_a_game_holds_fixed(cli):
    pytest.importorskip("torch")
    held = {"target": "random", "access": "white-box", "queries": 0}
    detail = cli.json("list", "games", "held-out-error")
    assert detail["held"] == held and not set(held) & set(detail["parameters"])
    assert "held, no parameters here: target='random', access='white-box', queries=0" in cli.out(
        "list", "games", "held-out-error"
    )
    assert cli.json("list", "games", "otp")["held"] == {}


def test_list_reflows_a_docstring_for_the_terminal_to_wrap():
    from advantage.listing import doc_text

    text = """First line.

    A paragraph broken
    for the source's columns.

    - an item
      continued
    - another

        a formula = 1
    after it.
    """
    assert doc_text(text).plain.splitlines() == [
        "First line.",
        "",
        "A paragraph broken for the source's columns.",
        "",
        "- an item continued",
        "- another",
        "",
        "    a formula = 1",
        "after it.",
    ]


def test_list_shows_a_paragraph_as_one_line_where_the_terminal_is_wide(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=out, width=1000, color_system=None))
    from advantage import listing

    monkeypatch.setattr(listing, "console", common.console)
    assert main(["list", "games", "otp"]) == 0
    lines = out.getvalue().splitlines()
    assert lines[2].startswith("The adversary submits") and lines[2].endswith("whole trial.")


@pytest.mark.parametrize("width", [80, 60])
def test_list_never_cuts_a_name_or_a_word(width, monkeypatch, capsys):
    out = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=out, width=width, color_system=None))
    from advantage import listing

    monkeypatch.setattr(listing, "console", common.console)
    assert main(["list", "adversaries"]) == 0
    text = out.getvalue()
    assert max(map(len, text.splitlines())) <= width
    rows = listing._rows("adversaries")
    # The words as shown: markup (``literal``, :class:`~target`) rendered as doc_text does.
    words = {w for e in rows for w in (e["name"], *listing.doc_text(e["summary"]).plain.split())}
    for word in words:
        assert word in text, word


@pytest.mark.parametrize(
    "argv",
    [
        [*OTP_GUESS, "--trials", "100", "--seed", "1"],
        ["certify", "otp", "--adversary", "guess", "--eps", "0.3", "--seed", "1"],
        ["plan", "--eps", "0.1"],
        ["list"],
        ["list", "games", "otp"],
        ["tour", "--list"],
    ],
)
def test_printed_lines_carry_no_padding_at_their_end(argv, capsys):
    # Grids pad every cell to its column; in a file or a CI log that is trailing whitespace.
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 2 and [line for line in lines if line != line.rstrip()] == []


def test_every_command_has_help(capsys):
    from advantage.cli import parser

    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0 and f"usage: advantage {name}" in out and len(out) > 200, name
        assert "%%" not in out, name


def _commands(parser, path=()):
    """Every command's words: (), ("run",), ..., ("lm", "train"), ..."""
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_help_fits_80_columns_and_keeps_its_paragraphs(monkeypatch, capsys):
    from advantage.cli import parser

    width = 80
    monkeypatch.setenv("COLUMNS", str(width))
    commands = list(_commands(parser()))
    assert ("run",) in commands and ("lm", "train") in commands
    for words in commands:
        with pytest.raises(SystemExit):
            main([*words, "--help"])
        lines = capsys.readouterr().out.splitlines()
        wide = [line for line in lines if len(line) > width]
        assert not wide, (words, wide)
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = capsys.readouterr().out
    # A paragraph is refilled, an example keeps its own lines.
    assert "\n\nA real-vs-ideal game counts" in out
    assert "\n          advantage plan collision -p n=12 --eps 0.1\n" in out


def test_console_script_exit_status():
    out = subprocess.run(
        ["advantage", "run", "nope", "--adversary", "guess"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and "unknown game" in out.stderr


RUN_PER_TRIAL = ("run", "otp", "--adversary", "guess", "--trials", "3000", "--no-batched")


def test_a_piped_run_says_how_far_it_is_on_stderr(monkeypatch, capsys):
    """Where stderr is no terminal (a pipe, a CI log) a long run prints a plain line now and
    then instead of a bar, so that it is never silent; stdout keeps only the result."""
    monkeypatch.setattr(common, "PLAIN_EVERY", 0.0)  # a line at every chunk
    assert main([*RUN_PER_TRIAL, "--chunk-size", "1000", "--seed", "0"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    shape = r"guess vs otp: [\d,]+/3,000 trials \(\d+%\), \d+ s(, about \d+ s left)?"
    assert all(re.fullmatch(shape, line) for line in lines), lines
    assert [line.split()[3] for line in lines] == ["0/3,000", "1,000/3,000", "2,000/3,000"]
    assert "advantage" in captured.out and "trials (" not in captured.out


def test_a_progress_line_is_made_only_when_it_is_due(monkeypatch, capsys):
    plain = common.PlainProgress()  # a run reports after every chunk: most reports say nothing
    plain.say(lambda: str(1 / 0))  # not due: never made
    monkeypatch.setattr(common, "PLAIN_EVERY", 0.0)
    plain.say(lambda: "due")
    assert capsys.readouterr().err == "due\n"


def test_a_short_or_json_run_prints_no_progress_lines(monkeypatch, capsys):
    assert main([*RUN_PER_TRIAL, "--seed", "0"]) == 0  # done long before the first line is due
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(common, "PLAIN_EVERY", 0.0)
    assert main([*RUN_PER_TRIAL, "--chunk-size", "1000", "--seed", "0", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_a_piped_certify_prints_its_interval_as_it_goes(monkeypatch, capsys):
    monkeypatch.setattr(common, "PLAIN_EVERY", 0.0)
    argv = ["certify", "otp", "--adversary", "guess", "--eps", "0.2", "--seed", "0"]
    assert main(argv) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(
        re.match(r"certify: [\d,]+ trials +advantage in \[[-+]\d\.\d{4}, [-+]\d\.\d{4}\]", line)
        for line in lines
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_a_terminal_gets_a_bar_even_with_json_and_it_leaves_no_trace(as_json, monkeypatch):
    """stdout may be a file (``--json > out.json``) while stderr is the terminal: the run
    still shows its bar there, and the bar is gone when the run ends."""
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(common, "stderr", terminal)
    monkeypatch.setattr(common, "BAR_AFTER", 0.0)
    with common.progress(as_json, "guess vs otp") as update:
        update(300, 1000)
    drawn = screen.getvalue()
    assert "guess vs otp" in drawn and "300/1000" in drawn  # the bar, drawn as it stops
    assert drawn.endswith("\x1b[1A\x1b[2K")  # and then erased: the line above, cleared


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sweep", "collision", "--adversary", "birthday", "--budget", "queries=2,4"],
         "interrupted: nothing was kept (`advantage sweep` keeps no log)"),
        (["certify", "otp", "--adversary", "guess", "--eps", "0.1"],
         "interrupted: nothing was kept (`advantage certify` keeps no log)"),
        (["check", "otp-perfect"], "interrupted: nothing was kept (`advantage check` keeps no log)"),
        ([*OTP_GUESS], "the finished chunks were not kept; no log was given (--log keeps them)"),
        ([*OTP_GUESS, "--log", "r[1].jsonl"],
         "the finished chunks are in r[1].jsonl; rerun with --resume to continue"),
    ],
)  # fmt: skip
def test_ctrl_c_names_log_only_for_commands_that_have_it(monkeypatch, capsys, argv, said):
    """sweep, check and certify were told "--log keeps them", an option they do not have."""
    from advantage import cli as module

    def interrupt(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "invoked", interrupt)
    assert main(argv) == 130
    err = " ".join(capsys.readouterr().err.split())
    assert said in err, err
    if "nothing was kept" in said:
        assert "--log" not in err and "--resume" not in err
