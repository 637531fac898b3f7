import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracles import BudgetExceeded, InvalidArgument, Oracle, Oracles, open_oracles


def test_budget_is_enforced_and_marked():
    oracle = Oracle(lambda x: x + 1, name="inc", budget=2)
    assert oracle(1) == 2 and oracle(2) == 3
    with pytest.raises(BudgetExceeded, match="'inc' queried more than its budget of 2"):
        oracle(3)
    assert oracle.exceeded and oracle.queries == 2 and oracle.remaining == 0


@given(st.integers(0, 20), st.integers(0, 30))
def test_queries_counted_up_to_budget(budget, calls):
    oracle = Oracle(lambda: None, budget=budget)
    answered = 0
    for _ in range(calls):
        try:
            oracle()
            answered += 1
        except BudgetExceeded:
            pass
    assert answered == min(budget, calls) == oracle.queries
    assert oracle.exceeded == (calls > budget)


def test_transcript_records_queries_and_answers():
    oracle = Oracle(lambda a, b: a * b, transcript=True)
    oracle(2, 3)
    oracle(4, 5)
    assert oracle.transcript == (((2, 3), 6), ((4, 5), 20))
    assert Oracle(lambda x: x).transcript == ()


@pytest.mark.parametrize("budget", [-1, 1.5, True, "3"])
def test_bad_budget(budget):
    with pytest.raises(InvalidArgument, match="budget=.* must be None or a non-negative integer"):
        Oracle(lambda: 0, budget=budget)


def test_public_attributes_do_not_lead_to_the_secret():
    secret = object()

    def answer(x):
        return x if secret else None

    handles = Oracles({"o": Oracle(answer, name="o", budget=3)}, {"n": 8})
    seen, stack = set(), [handles]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        assert obj is not secret and obj is not answer
        children = []
        if isinstance(obj, dict | tuple | list):
            children = list(obj.values()) if isinstance(obj, dict) else list(obj)
        for name in dir(obj):
            if name.startswith("_"):
                continue
            try:
                value = getattr(obj, name)
            except Exception:
                continue
            if not callable(value) or isinstance(value, Oracle):
                children.append(value)
        if isinstance(obj, Oracles):
            children += [obj[k] for k in obj] + [obj.public]
        stack.extend(c for c in children if not isinstance(c, int | str | float | type(None)))
    assert len(seen) >= 4  # the walk reached the handles, the oracle and the public mapping


def test_oracles_mapping_and_attribute_access():
    handles = Oracles({"enc": Oracle(lambda m: m, name="enc")}, {"n": 4})
    assert handles.enc is handles["enc"] and list(handles) == ["enc"] and handles.public["n"] == 4
    with pytest.raises(KeyError, match="no oracle named 'dec'; this game offers: enc"):
        handles["dec"]
    with pytest.raises(AttributeError):
        _ = handles.dec
    with pytest.raises(TypeError):
        handles.public["n"] = 5  # read-only
    with pytest.raises(InvalidArgument, match="must be an Oracle"):
        Oracles({"x": lambda: 0})
    assert isinstance(np.int64(3), np.integer)


def test_public_values_are_the_adversarys_own_copies():
    labels = np.array([0, 1, 2])
    record = np.zeros(2, dtype=[("x", float), ("y", int)])
    view, _ = open_oracles({}, {}, {"labels": labels, "row": record[0], "n": 3})
    view.public["labels"][:] = 9
    view.public["row"]["y"] = 9  # a structured array's element writes into its array
    assert labels.tolist() == [0, 1, 2] and record["y"].tolist() == [0, 0]
    assert view.public["n"] == 3


def test_a_public_value_that_cannot_be_copied_is_named():
    import threading

    with pytest.raises(InvalidArgument, match="public value 'lock' .* cannot be copied"):
        open_oracles({}, {}, {"lock": threading.Lock()})


class _Seven(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


def test_an_array_of_objects_reaches_the_answer_as_inert_values():
    # An exact ndarray passes unconverted, but one of dtype object holds the adversary's own
    # objects, whose methods numpy calls (== compares element by element).
    seen = []
    oracle = Oracle(lambda x: seen.append(x))
    query = np.empty(3, object)
    query[:] = [_Seven(7), [_Seven(1)], "x"]
    oracle(query)
    (got,) = seen
    assert got is not query and got.dtype == object and got.shape == (3,)
    assert [type(v) for v in got] == [int, list, str] and type(got[1][0]) is int
    assert not (got == 8).any()
    structured = np.zeros(2, dtype=[("a", object), ("b", int)])
    with pytest.raises(InvalidArgument, match="structured array holding objects"):
        oracle(structured)
