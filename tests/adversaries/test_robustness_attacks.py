"""The robustness attacks: each one's reach, both paths, budgets, AutoAttack's ensemble, and
our PGD against torchattacks' on the same model and points."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import games  # noqa: E402
from adversaries.robustness import (  # noqa: E402
    ApgdCe,
    ApgdDlr,
    AutoAttack,
    Bpda,
    Clean,
    Eot,
    Fgsm,
    Pgd,
    Square,
)
from adversaries.robustness.apgd import checkpoints  # noqa: E402
from games.robustness.games import Evasion  # noqa: E402
from games.stats import binomial_interval  # noqa: E402
from oracles import InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_every_attack_answers_inside_the_ball_on_both_norms():
    for norm, eps in (("linf", 0.1), ("l2", 1.0)):
        game = Evasion(norm=norm, eps=eps)
        for attack in (Fgsm(), Pgd(steps=5), ApgdCe(steps=5), ApgdDlr(steps=5), Square(queries=150), Eot(steps=3, samples=2), Bpda(steps=5), AutoAttack(steps=5, queries=50)):  # fmt: skip
            result = games.estimate(game, attack, trials=64, seed=0)
            assert result.errors == {}, (norm, attack, result.first_error)
            assert result.advantage > 0.2, (norm, attack, result.advantage)


def test_stronger_attacks_do_at_least_as_well_as_fgsm():
    game = Evasion(eps=0.08)
    found = {
        type(a).__name__: games.estimate(game, a, trials=300, seed=1)
        for a in (Fgsm(), Pgd(), ApgdCe(), AutoAttack(queries=200))
    }
    assert found["Fgsm"].wins <= min(found[k].wins for k in ("Pgd", "ApgdCe", "AutoAttack"))
    assert found["AutoAttack"].wins >= max(found[k].wins for k in ("Pgd", "ApgdCe"))


def test_square_needs_only_scores_or_labels():
    scores = games.estimate(
        Evasion(access="scores", eps=0.15), Square(queries=300), trials=100, seed=2
    )
    labels = games.estimate(
        Evasion(access="labels", eps=0.15), Square(queries=300), trials=100, seed=2
    )
    assert scores.ci_low > 0.3 and labels.advantage > 0 and scores.wins >= labels.wins
    assert scores.queries["scores"] <= 300 * 100
    with pytest.raises(Exception, match="bpda needs white-box access"):
        Bpda()(
            Evasion(access="scores").setup(np.random.default_rng(0)).handles(),
            np.random.default_rng(0),
        )


def test_bpda_breaks_quantisation_where_pgd_sees_zero_gradients():
    game = Evasion(defense="quantize", eps=0.2)
    pgd = games.estimate(game, Pgd(), trials=300, seed=3)
    bpda = games.estimate(game, Bpda(), trials=300, seed=3)
    assert pgd.ci_high < 0.15 and bpda.ci_low > 0.35 and bpda.ci_low > pgd.ci_high


def test_eot_averages_the_randomized_gradient():
    game = Evasion(defense="random-noise", eps=0.1, sigma=0.5, votes=1)
    eot = games.estimate(game, Eot(samples=8), trials=200, seed=4)
    assert eot.queries["gradient"] == 20 * 8 * 200 and eot.ci_low > 0.1


def test_queries_are_counted_and_an_overspending_attack_loses():
    game = Evasion(queries=50)
    result = games.estimate(game, Pgd(steps=10, restarts=3), trials=40, seed=5)
    assert result.queries["gradient"] == 30 * 40 and result.errors == {}
    over = games.estimate(game, Pgd(steps=60), trials=40, seed=5, batched=False)
    assert over.wins == 0 and over.errors == {"budget": 40}


def test_bad_attack_parameters_are_refused():
    with pytest.raises(InvalidArgument, match=r"steps=0 must be an integer in \[1, 1000000\]"):
        Pgd(steps=0)
    with pytest.raises(InvalidArgument, match="loss='l2' must be one of: ce, dlr, margin"):
        Fgsm(loss="l2")
    with pytest.raises(InvalidArgument, match=r"step=-1 must be a number in \(0, inf\)"):
        Pgd(step=-1)
    with pytest.raises(InvalidArgument, match="version='plus' must be one of: standard, rand"):
        AutoAttack(version="plus")


def test_apgd_checkpoints_follow_the_paper():
    # p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]


def test_autoattack_wins_exactly_the_union_of_its_components():
    game = Evasion(eps=0.06)
    auto = AutoAttack(steps=10, queries=50)
    parts = [ApgdCe(steps=10), ApgdDlr(steps=10), Square(queries=50)]
    for batched in (True, False):
        trials = 200 if batched else 16
        alone = games.estimate(game, auto, trials=trials, seed=6, batched=batched)
        ensemble = games.estimate_best(game, parts, trials=trials, seed=6, batched=batched)
        assert alone.wins == ensemble.union.wins, batched
        assert ensemble.union.wins >= max(e.wins for e in ensemble.adversaries)
    # The best single component is reported with its interval corrected for the choice.
    assert ensemble.best.correction == "bonferroni over 3 adversaries"
    # Black-box access leaves Square alone; rand swaps Square for EOT in the APGDs.
    view_access = Evasion(access="scores").setup(np.random.default_rng(0)).handles()
    from adversaries.robustness import View

    view = View(view_access, 1, single=True)
    assert [type(c).__name__ for c in auto.components(view)] == ["Square"]
    rand = AutoAttack(version="rand").components(
        View(game.setup(np.random.default_rng(0)).handles(), 1, True)
    )
    assert [(type(c).__name__, c.samples) for c in rand] == [("ApgdCe", 20), ("ApgdDlr", 20)]


def test_clean_and_attacks_are_fresh_per_trial():
    # Frozen attrs classes: a trial cannot leave state behind for the next.
    for attack in (Clean(), Pgd(), Square(), AutoAttack()):
        with pytest.raises(AttributeError):
            attack.steps_done = 1  # type: ignore[attr-defined]


def test_our_pgd_matches_torchattacks_pgd_on_the_same_model_and_points():
    torchattacks = pytest.importorskip("torchattacks")
    size, eps, steps = 400, 0.1, 20
    game = Evasion(eps=eps)
    challenge = game.setup_batch(size, np.random.default_rng(7))
    ours = game.finalize_batch(
        challenge, Pgd(steps=steps).batch(challenge.handles(), np.random.default_rng(8), size)
    )
    model = game.defended().model
    images = torch.nn.Sequential(torch.nn.Flatten(), model)  # torchattacks feeds (N, 1, 8, 8)
    x = challenge.public["x"].reshape(size, 1, 8, 8)
    y = challenge.public["y"]
    with torch.random.fork_rng(devices=[]):  # torchattacks draws its start from torch's generator
        torch.manual_seed(0)
        attack = torchattacks.PGD(images, eps=eps, alpha=2.5 * eps / steps, steps=steps)
        adversarial = attack(x, y)
    assert (adversarial - x).abs().max() <= eps + 1e-6
    theirs = (model(adversarial.reshape(size, -1)).argmax(1) != y).numpy()
    ours_ci = binomial_interval(int(ours.sum()), size, 0.95)
    theirs_ci = binomial_interval(int(theirs.sum()), size, 0.95)
    assert ours_ci[0] <= theirs.mean() <= ours_ci[1] and theirs_ci[0] <= ours.mean() <= theirs_ci[1]
    assert ours.mean() > 0.3
