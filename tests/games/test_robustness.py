"""The robustness games: data, models, defenses, the evasion game and its two proof games."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from cheaters import Relabels, wins_whatever_the_answer  # noqa: E402

import games  # noqa: E402
from adversaries.robustness import Bpda, Clean, Fgsm, Pgd  # noqa: E402
from games.registry import parameters  # noqa: E402
from games.robustness import data as datasets  # noqa: E402
from games.robustness import defenses, perturb  # noqa: E402
from games.robustness.clean import CleanError  # noqa: E402
from games.robustness.games import CertifiedRadius, Evasion, PgdGap  # noqa: E402
from games.robustness.models import ModelSpec, trained  # noqa: E402
from oracles import BudgetExceeded, InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def rate_holds(result, value: float) -> bool:
    return result.ci_low <= value <= result.ci_high


# -- data ---------------------------------------------------------------------------------


def test_digits_lie_in_the_unit_cube_and_split_once():
    task = datasets.load("digits")
    assert task.classes == 10 and task.image == (8, 8) and task.dims == 64
    assert task.train_x.min() == 0 and task.train_x.max() == 1
    assert len(task.train_y) + len(task.test_y) == 1797
    x, y = task.draw(np.random.default_rng(0), 5)
    assert x.shape == (5, 64) and x.dtype == np.float32 and set(y) <= set(range(10))
    with pytest.raises(InvalidArgument, match="data='mnist' must be one of: digits, gaussians"):
        datasets.load("mnist")


def test_gaussians_robust_error_is_the_closed_form_by_simulation():
    task = datasets.load("gaussians")
    X, y = task.draw(np.random.default_rng(1), 400_000)
    assert ((X >= 0) & (X <= 1)).all()
    margin = task.bayes_margin(X) * (2 * y - 1)
    right = margin > 0
    for eps, norm in ((0.05, "linf"), (0.05, "l2"), (0.1, "l2")):
        simulated = (margin[right] <= eps * datasets.dual_norm(norm, 2)).mean()
        assert simulated == pytest.approx(task.robust_error(eps, norm), abs=3e-3)
    assert task.robust_error(0.0, "linf") == 0
    assert task.robust_error(0.05, "linf") > task.robust_error(0.05, "l2")  # ‖u‖₁ = √2 > ‖u‖₂
    with pytest.raises(InvalidArgument, match="data='gaussians' only"):
        datasets.load("digits").robust_error(0.1, "linf")


def test_gaussians_clean_error_is_the_closed_form_by_simulation():
    task = datasets.load("gaussians")
    X, y = task.draw(np.random.default_rng(2), 400_000)
    simulated = ((task.bayes_margin(X) > 0) != y).mean()
    assert simulated == pytest.approx(task.clean_error(), abs=1e-3)
    assert task.clean_error() == pytest.approx(stats.norm.cdf(-datasets.DELTA / datasets.TAU))
    with pytest.raises(InvalidArgument, match="data='gaussians' only"):
        datasets.load("digits").clean_error()


# -- models -------------------------------------------------------------------------------


def test_a_model_is_a_function_of_its_spec_and_touches_no_global_generator():
    spec = ModelSpec(data="digits", model="mlp", epochs=3, seed=5)
    before = torch.random.get_rng_state()
    first = trained.__wrapped__(spec)
    again = trained.__wrapped__(spec)
    other = trained.__wrapped__(ModelSpec(data="digits", model="mlp", epochs=3, seed=6))
    assert torch.equal(torch.random.get_rng_state(), before)
    pairs = zip(first.parameters(), again.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    assert not all(
        torch.equal(p, q) for p, q in zip(first.parameters(), other.parameters(), strict=True)
    )
    assert trained(spec) is trained(spec)  # cached per process


def test_models_classify_digits_well():
    task = datasets.load("digits")
    X, y = torch.from_numpy(np.array(task.test_x)), torch.from_numpy(np.array(task.test_y))
    for kind in ("mlp", "cnn"):
        model = trained(ModelSpec(data="digits", model=kind, epochs=10))
        assert (model(X).argmax(1) == y).float().mean() > 0.9, kind


# -- defenses -----------------------------------------------------------------------------


def test_quantize_and_jpeg_like_steps():
    x = torch.tensor([[0.0, 0.2, 0.26, 0.5, 0.74, 1.0]])
    assert torch.equal(defenses.Quantize(3)(x), torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.5, 1.0]]))
    D = defenses.dct_matrix(8)
    assert torch.allclose(D @ D.T, torch.eye(8), atol=1e-6)
    image = torch.rand((4, 64), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(defenses.JpegLike((8, 8), 1e-6)(image), image, atol=1e-5)
    smoothed = defenses.JpegLike((8, 8), 0.2)(image)
    assert 0.01 < (smoothed - image).abs().mean() < 0.5 and smoothed.min() >= 0
    # Rounding passes no gradient: what an autograd attacker sees is zero.
    x = image.clone().requires_grad_(True)
    defenses.JpegLike((8, 8), 0.2)(x).sum().backward()
    assert x.grad.abs().max() == 0


def test_clopper_pearson_lower_is_scipys_exact_bound():
    for k, n, alpha in ((0, 10, 0.05), (7, 10, 0.01), (100, 100, 0.001), (55, 100, 0.05)):
        exact = stats.binomtest(k, n).proportion_ci(1 - 2 * alpha, method="exact").low
        assert defenses.clopper_pearson_lower(k, n, alpha) == pytest.approx(exact, abs=1e-12)


def test_certify_follows_the_paper_and_the_bug_claims_infinite_radii():
    game = CertifiedRadius(n0=10, n=100, alpha=0.01, sigma=0.05)
    right = game.defended()
    far = torch.tensor([[0.9, 0.9], [0.1, 0.1], [0.5, 0.5]])  # margins ±0.57σ⁻¹…, and 0
    label, radius = right.certify(far, torch.Generator().manual_seed(0))
    # All 100 votes agree far from the boundary: p_A ≥ 0.01^(1/100), radius σ·Φ⁻¹ of it.
    expected = 0.05 * stats.norm.ppf(0.01 ** (1 / 100))
    assert label.tolist()[:2] == [1, 0] and radius[:2] == pytest.approx([expected] * 2)
    assert label[2] == defenses.ABSTAIN and radius[2] == 0  # on the boundary: abstain
    wrong = CertifiedRadius(defense="smoothing-one-stage", n=100, alpha=0.01).defended()
    label, radius = wrong.certify(far, torch.Generator().manual_seed(0))
    assert label.tolist()[:2] == [1, 0] and math.isinf(radius[0]) and math.isinf(radius[1])


def test_predict_abstains_unless_the_binomial_test_rejects():
    game = Evasion(defense="smoothing", n=20, alpha=0.05)
    votes = torch.tensor([[15, 5, 0], [12, 8, 0], [0, 6, 0], [5, 0, 0], [2, 2, 16]])
    # Two-sided binomial test of the top count against the runner-up's, at level alpha.
    found = defenses._predict(votes, 0.05)
    assert found.tolist() == [0, defenses.ABSTAIN, 1, defenses.ABSTAIN, 2]
    assert stats.binomtest(15, 20).pvalue <= 0.05 < stats.binomtest(12, 20).pvalue
    assert stats.binomtest(6, 6).pvalue <= 0.05 < stats.binomtest(5, 5).pvalue
    assert game.defended().rule == "smoothing"


# -- evasion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"eps": -0.1}, r"eps=-0.1 must be a number in \[0, inf\)"),
        ({"norm": "l1"}, "norm='l1' must be one of: linf, l2"),
        ({"defense": "magic"}, "defense='magic' must be one of: standard, adversarial-training"),
        ({"access": "grey-box"}, "access='grey-box' must be one of: white-box, scores, labels"),
        ({"model": "resnet"}, "model='resnet' must be one of: linear, mlp, cnn"),
        ({"data": "gaussians", "model": "mlp"}, "Bayes rule"),
        ({"data": "gaussians", "defense": "adversarial-training"}, "needs a trained model"),
        ({"train_eps": -1.0}, r"train_eps=-1.0 must be a number in \[0, inf\)"),
        ({"queries": -1}, "queries=-1 must be a non-negative integer"),
    ],
)
def test_bad_parameters_are_refused_in_one_line(params, match):
    with pytest.raises(InvalidArgument, match=match) as error:
        Evasion(**params)
    assert "\n" not in str(error.value)


def test_the_trivial_adversary_never_wins_even_against_randomized_defenses():
    for params in ({}, {"defense": "random-noise"}, {"defense": "smoothing", "n": 30}):
        result = games.estimate(Evasion(**params), Clean(), trials=300, seed=1)
        assert result.wins == 0 and result.baseline == 0, params
    assert games.estimate(PgdGap(defense="quantize"), Clean(), trials=200, seed=1).wins == 0
    # Returning the point wins a certified-radius trial only where CERTIFY named the wrong
    # class: part of the (small) probability that a certificate fails.
    certified = games.estimate(CertifiedRadius(), Clean(), trials=2000, seed=1)
    assert certified.ci_low <= CertifiedRadius().violation() and certified.advantage < 0.005
    # The randomized defense does mislabel its points under fresh noise: the judgement
    # noise, drawn once per trial, is what makes the clean point a loss.
    game = Evasion(defense="random-noise", sigma=0.6, votes=1)
    challenge = game.setup_batch(400, np.random.default_rng(0))
    fresh = challenge.handles()["labels"](challenge.public["x"])
    assert (fresh != challenge.public["y"]).any()
    assert not game.finalize_batch(challenge, challenge.public["x"]).any()


def test_the_view_the_oracles_and_their_budgets():
    game = Evasion(queries=2)
    challenge = game.setup(np.random.default_rng(0))
    public = challenge.public
    assert public["x"].shape == (64,) and 0 <= public["y"] < 10 and public["eps"] == 0.1
    assert set(public) >= {"norm", "low", "high", "classes", "image", "transform", "defense"}
    assert "seed" not in public and "game" not in public  # the training seed is the key
    handles = challenge.handles()
    assert set(handles) == {"gradient", "model_gradient", "scores", "labels"}
    logits, grad = handles["gradient"](public["x"], public["y"])
    assert logits.shape == (10,) and grad.shape == (64,) and grad.abs().sum() > 0
    assert handles["scores"](public["x"]).sum() == pytest.approx(1.0)
    handles["gradient"](public["x"], public["y"], "dlr")
    with pytest.raises(BudgetExceeded):
        handles["gradient"](public["x"], public["y"])
    with pytest.raises(InvalidArgument, match=r"x has shape \(3,\); the oracle takes \(64,\)"):
        handles["labels"](np.zeros(3))
    with pytest.raises(InvalidArgument, match="loss='hinge' must be one of: ce, dlr, margin"):
        handles["model_gradient"](public["x"], public["y"], "hinge")
    assert set(Evasion(access="scores").setup(np.random.default_rng(0)).oracles) == {
        "scores",
        "labels",
    }
    assert set(Evasion(access="labels").setup(np.random.default_rng(0)).oracles) == {"labels"}


def test_gradients_through_quantisation_are_zero_and_the_bare_models_are_not():
    challenge = Evasion(defense="quantize", eps=0.2).setup(np.random.default_rng(0))
    x, y = challenge.public["x"], challenge.public["y"]
    _, masked = challenge.oracles["gradient"](x, y)
    _, bare = challenge.oracles["model_gradient"](x, y)
    assert masked.abs().max() == 0 and bare.abs().max() > 0


class _Outside:
    """Returns a point ``by`` past the ball (or the range), to be refused."""

    def __init__(self, by: float, coordinate: float | None = None) -> None:
        self.by, self.coordinate = by, coordinate

    def _move(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        out = x.clone()
        if self.coordinate is not None:
            out[..., 0] = self.coordinate
            return out
        up = x[..., 0] + eps + self.by
        out[..., 0] = torch.where(up <= 1, up, x[..., 0] - eps - self.by)
        return out

    def __call__(self, oracles, rng):
        return self._move(oracles.public["x"], oracles.public["eps"])

    def batch(self, oracles, rng, size):
        return self._move(oracles.public["x"], oracles.public["eps"][0].item())


def test_answers_outside_the_ball_or_the_range_lose_and_are_counted():
    game = Evasion(eps=0.1)
    per_trial = games.estimate(game, _Outside(0.05), trials=20, seed=0, batched=False)
    assert per_trial.wins == 0 and per_trial.errors == {"invalid-answer": 20}
    assert "outside the linf ball of radius 0.1" in per_trial.first_error
    batched = games.estimate(game, _Outside(0.05), trials=20, seed=0, batched=True)
    assert batched.wins == 0 and batched.errors == {"invalid-answer": 20}
    assert "20 of 20 answers are refused" in batched.first_error
    # Rounding noise within the tolerance is accepted.
    assert games.estimate(game, _Outside(-1e-7), trials=5, seed=0).errors == {}
    ranged = games.estimate(Evasion(eps=2.0), _Outside(0, coordinate=1.5), trials=5, seed=0)
    assert ranged.errors == {"invalid-answer": 5}
    assert "outside the data range [0.0, 1.0]" in ranged.first_error


def test_malformed_answers_are_invalid():
    game = Evasion()
    challenge = game.setup(np.random.default_rng(0))
    for answer, match in (
        (np.zeros(3), "shape"),
        (np.full(64, np.nan), "NaN"),
        ("x", "not an array"),
    ):
        with pytest.raises(games.InvalidAnswer, match=match):
            game.finalize(challenge, answer)


def test_attacks_reach_the_closed_form_robust_error_on_both_paths():
    task = datasets.load("gaussians")
    for norm, eps in (("linf", 0.05), ("l2", 0.05)):
        game = Evasion(data="gaussians", norm=norm, eps=eps)
        theory = task.robust_error(eps, norm)
        for attack in (Fgsm(), Pgd()):
            result = games.estimate(game, attack, trials=3000, seed=2, level=0.99)
            assert result.path == "batch" and rate_holds(result, theory), (norm, attack)
    per_trial = games.estimate(
        Evasion(data="gaussians", eps=0.05), Pgd(), trials=150, seed=3, batched=False, level=0.99
    )
    assert per_trial.path == "trial" and rate_holds(per_trial, task.robust_error(0.05, "linf"))


def test_the_batched_path_matches_the_per_trial_path_in_distribution():
    game = Evasion(eps=0.1)
    batched = games.estimate(game, Pgd(steps=10), trials=600, seed=4)
    trial = games.estimate(game, Pgd(steps=10), trials=120, seed=4, batched=False)
    table = [[batched.wins, batched.trials - batched.wins], [trial.wins, trial.trials - trial.wins]]
    assert stats.fisher_exact(table).pvalue > 0.001
    assert batched.path == "batch" and trial.path == "trial"


# -- the utility game ---------------------------------------------------------------------


def test_clean_error_is_the_defenses_error_on_the_test_set_on_both_paths():
    gaussians = CleanError(data="gaussians")
    theory = datasets.load("gaussians").clean_error()
    batched = games.estimate(gaussians, Clean(), trials=4000, seed=5, level=0.99)
    per_trial = games.estimate(gaussians, Clean(), trials=300, seed=5, level=0.99, batched=False)
    assert batched.path == "batch" and rate_holds(batched, theory)
    assert per_trial.path == "trial" and rate_holds(per_trial, theory)
    # On digits the test set is finite and the trials draw from it with replacement: the win
    # rate's expectation is the defended model's error over the whole test set.
    task = datasets.load("digits")
    X, y = torch.from_numpy(np.array(task.test_x)), torch.from_numpy(np.array(task.test_y))
    for defense in ("standard", "quantize"):
        game = CleanError(defense=defense)
        exact = float((game.defended().predict(X) != y).float().mean())
        result = games.estimate(game, Clean(), trials=3000, seed=6, level=0.99)
        assert 0 < exact < 0.2 and rate_holds(result, exact), defense
    # Smoothing's abstentions are misses: its clean error is at least the base model's.
    smoothing = games.estimate(CleanError(defense="smoothing", n=30), Clean(), trials=600, seed=7)
    assert smoothing.wins > 0 and smoothing.errors == {}


def test_clean_errors_answer_is_not_read_and_no_oracle_is_given():
    game = CleanError(defense="quantize")
    for batched in (True, False):
        wins = wins_whatever_the_answer(game, trials=300, seed=8, batched=batched)
        assert games.estimate(game, Clean(), trials=300, seed=8, batched=batched).wins == wins
    challenge = game.setup(np.random.default_rng(0))
    assert challenge.oracles == {} and "missed" not in challenge.public
    assert "access" not in challenge.public  # no access of evasion's is given either
    assert "clean-error" in games.ADVERSARIES.entry("clean").games  # and no attack's
    assert {"access", "queries"} & set(parameters(CleanError)) == set()
    assert "eps" in parameters(CleanError)  # the radius adversarial training trains for
    assert "clean-error" not in games.ADVERSARIES.entry("pgd").games


# -- the proof games ----------------------------------------------------------------------


def test_pgd_gap_wins_only_where_the_reference_pgd_fails():
    game = PgdGap(defense="quantize", eps=0.2)
    challenge = game.setup_batch(200, np.random.default_rng(0))
    reference = challenge.secret["reference"]
    assert 0 < int(reference.sum()) < 60  # the random start sometimes lands on a flip
    answers = Bpda().batch(challenge.handles(), np.random.default_rng(1), 200)
    evasion_wins = Evasion(defense="quantize", eps=0.2)._judge(
        challenge.secret,
        game.defended().predict(answers, challenge.secret["noise"]) != challenge.secret["y"],
    )
    gap_wins = torch.from_numpy(game.finalize_batch(challenge, answers))
    assert torch.equal(gap_wins, evasion_wins & ~reference)


def test_certified_radius_hands_over_the_certificate_and_the_attack_meets_the_exact_rate():
    game = CertifiedRadius()
    challenge = game.setup_batch(300, np.random.default_rng(0))
    certified, eps = challenge.public["certified"], challenge.public["eps"]
    assert certified.any() and (~certified).any()
    assert (eps[~certified] == 0).all() and (eps[certified] > 0).all()
    for name in ("smoothing", "smoothing-one-stage"):
        game = CertifiedRadius(defense=name)
        result = games.estimate(game, Pgd(), trials=2000, seed=5, level=0.99)
        assert rate_holds(result, game.violation()), (name, result)
    assert (
        CertifiedRadius().violation()
        < 0.01
        < CertifiedRadius(defense="smoothing-one-stage").violation()
    )


def test_perturbation_helpers_stay_in_the_ball_and_range():
    g = torch.Generator().manual_seed(0)
    x = torch.rand((50, 8), generator=g)
    eps = torch.full((50,), 0.3)
    for norm in ("linf", "l2"):
        start = perturb.random_start(x, eps, norm, 0.0, 1.0, g)
        far = perturb.project(x + 5 * torch.randn((50, 8), generator=g), x, eps, norm, 0.0, 1.0)
        for points in (start, far):
            delta = points - x
            size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
            assert (size <= 0.3 + 1e-6).all() and points.min() >= 0 and points.max() <= 1
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    y = torch.tensor([0, 0])
    assert perturb.loss(logits, y, "margin").tolist() == [-2.0, 2.0]
    assert perturb.loss(logits, y, "dlr").tolist() == pytest.approx([-2 / 3, 1.0])
    assert perturb.loss(logits[:, :2], y, "dlr").tolist() == [-2.0, 2.0]  # two classes: margin
    with pytest.raises(InvalidArgument, match="schedule='linear' must be one of"):
        perturb.pgd(lambda p: (logits, p), x, y, eps, norm="linf", low=0, high=1, steps=1,
                    step=0.1, schedule="linear", generator=g)  # fmt: skip


@pytest.mark.gpu
def test_the_games_and_attacks_run_on_cuda_as_on_the_cpu():
    from adversaries.robustness import AutoAttack, Square

    for game, attack in (
        (Evasion(eps=0.1), Pgd()),
        (Evasion(defense="smoothing", n=50), Pgd()),
        (Evasion(access="scores"), Square(queries=100)),
        (Evasion(eps=0.05), AutoAttack(steps=10, queries=50)),
        (CertifiedRadius(defense="smoothing-one-stage"), Pgd()),
    ):
        cpu = games.estimate(game, attack, trials=512, seed=0, device="cpu")
        cuda = games.estimate(game, attack, trials=512, seed=0, device="cuda")
        assert cuda.errors == {} and cpu.errors == {}, (game, attack, cuda.first_error)
        # The same points and coins; only float rounding on the device differs.
        assert abs(cuda.wins - cpu.wins) <= 16, (game, attack, cpu.wins, cuda.wins)


@pytest.mark.parametrize("batched", [True, False])
def test_changing_the_public_values_changes_nothing_the_challenger_reads(batched):
    # The public clean points and labels were the secret's own tensors.
    result = games.estimate(Evasion(eps=1e-4), Relabels(), trials=60, seed=0, batched=batched)
    assert result.wins == 0, result
