"""The pytest plugin of `advantage` (entry point ``pytest11``: active once it is installed).

It adds the marker ``@pytest.mark.advantage(level=..., seed=...)`` and the options
``--advantage-seed`` and ``--advantage-level``, which set the defaults of the assertions in
:mod:`advantage.testing`, and prints at the end of the session one table of every security
assertion made, with its interval, its own level and the family-wise level of all of them
(Bonferroni: the chance that any passing assertion is wrong is at most the sum of their
``1 − level``).

It imports nothing but pytest and the standard library until a test makes an assertion,
so it costs nothing to projects that do not use it (no numpy, no torch at start-up).
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["family_level", "summary_lines"]

_CLAIMS = pytest.StashKey[dict[str, list[Any]]]()
_KEY = "advantage-claim"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("advantage", "security claims (advantage.testing)")
    group.addoption(
        "--advantage-seed",
        type=int,
        default=None,
        help="seed of the security assertions that name none (default: 0)",
    )
    group.addoption(
        "--advantage-level",
        type=float,
        default=None,
        help="level of the security assertions that name none (default: 0.95)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "advantage(level=None, seed=None): the level and seed of this test's security "
        "assertions (advantage.testing), unless an assertion names its own",
    )
    config.pluginmanager.register(_Collector(config), "advantage-claims")


def _settings(item: pytest.Item) -> Any:
    from advantage.testing import Settings, pytest_replay

    marker = item.get_closest_marker("advantage")
    given = dict(marker.kwargs) if marker is not None else {}
    unknown = set(given) - {"level", "seed"}
    if unknown or (marker is not None and marker.args):
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.advantage takes level= and seed= only, "
            f"not {', '.join(sorted(unknown)) or repr(marker.args)}"  # type: ignore[union-attr]
        )
    level = given.get("level", item.config.getoption("advantage_level"))
    seed = given.get("seed", item.config.getoption("advantage_seed"))
    return Settings(
        test=item.nodeid, level=level, seed=seed, replay=pytest_replay(item.nodeid, seed, level)
    )


_SETTINGS = pytest.StashKey[Any]()


def _recording(item: pytest.Item, when: str) -> Any:
    """Run one phase of ``item`` with its settings, keeping the claims made in it (in a
    fixture, during setup or teardown, as well as in the test's body)."""
    # Only the marker and options are read here; advantage.testing itself is cheap to import
    # (it loads the games when an assertion runs).
    from advantage.testing import recording

    if when == "setup":
        item.stash[_SETTINGS] = _settings(item)
    settings = item.stash.get(_SETTINGS, None)
    if settings is None:  # its marker was refused at setup
        yield
        return
    with recording(settings) as claims:
        yield
    item.stash.setdefault(_CLAIMS, {})[when] = claims


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    yield from _recording(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    yield from _recording(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    yield from _recording(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report = outcome.get_result()
    # Each phase's report carries the claims made in that phase; user_properties travel
    # with the report, also from pytest-xdist workers.
    for claim in item.stash.get(_CLAIMS, {}).get(report.when, []):
        report.user_properties.append((_KEY, claim.as_dict()))


class _Collector:
    """The session's claims, gathered from the test reports (of this process, or of
    pytest-xdist workers: the reports carry them), and the table printed at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.claims: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.claims += [
            value  # type: ignore[misc]
            for key, value in report.user_properties
            if key == _KEY
        ]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput") or not self.claims:
            return  # a pytest-xdist worker, or a session without security assertions
        terminalreporter.write_sep("=", "security assertions (advantage)")
        width = self.config.get_terminal_writer().fullwidth
        for text in summary_lines(self.claims, width):
            terminalreporter.write_line(text)


def family_level(claims: list[dict[str, Any]]) -> float:
    """Bonferroni: every assertion is right with probability at least 1 − Σ(1 − level)."""
    return max(0.0, 1 - sum(1 - claim["level"] for claim in claims))


def _interval(claim: dict[str, Any]) -> str:
    if claim["low"] is None:
        return "—"
    return f"[{claim['low']:+.4f}, {claim['high']:+.4f}]"


def _pct(level: float) -> str:
    from games.stats.intervals import percent  # at the session's end: the plugin loads light

    return percent(level)


def summary_lines(claims: list[dict[str, Any]], width: int = 80) -> list[str]:
    """The end-of-session table within ``width`` columns, one line each, then its footing.

    When the columns do not all fit (a test's node id is often most of a line), each claim
    is stacked instead: its test and result on one line, the rest labelled under it."""
    # At the session's end only: the plugin loads light.
    import io
    import textwrap

    from rich.console import Console
    from rich.text import Text

    from advantage.layout import Column, Stacked, fitted

    family = family_level(claims)
    columns = [
        Column("test"),
        Column("claim"),
        Column("result", wrap=False),
        Column("interval", wrap=False),
        Column("trials", justify="right", wrap=False),
        Column("seed", wrap=False),
        Column("level", wrap=False),
    ]
    rows, stack = [], []
    for claim in claims:
        cells = [
            claim["test"] or "—",
            f"{claim['subject']}: {claim['claim']}",
            claim["outcome"],
            _interval(claim),
            f"{claim['trials']:,}",
            str(claim["seed"]),
            _pct(claim["level"]),
        ]
        rows.append([Text(cell) for cell in cells])
        details = [
            ("claim", cells[1]),
            ("interval", f"{cells[3]} ({cells[4]} trials, seed {cells[5]})"),
            ("level", cells[6]),
        ]
        stack.append(
            Stacked(
                heading=Text(cells[0]),
                status=Text(cells[2]),
                details=[(label, Text(value)) for label, value in details],
            )
        )
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    console.print(fitted(columns, rows, width, stack=stack))
    footing = (
        f"{len(claims)} security assertion(s); each holds at its own level, and all of them "
        f"together at {_pct(family)} (family-wise, Bonferroni: 1 − Σ(1 − level)).",
        "Intervals: certify's anytime-valid confidence sequence (each end at the level), or a "
        "proof check's theorem interval (its intervals together at the level).",
    )
    return [
        *(line.rstrip() for line in out.getvalue().splitlines()),
        *(line for text in footing for line in textwrap.wrap(text, width)),
    ]
