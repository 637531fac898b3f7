"""The torch device the engine hands to games: cuda when present, refused when absent."""

import pytest

from advantage.cli import main
from games.engine import with_device
from games.otp import OneTimePad
from oracles import InvalidArgument

torch = pytest.importorskip("torch")
from games.privacy.membership import Membership  # noqa: E402


def cuda_present(monkeypatch, present):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)


@pytest.mark.parametrize(("present", "chosen"), [(True, "cuda"), (False, "cpu")])
def test_default_device_is_cuda_when_present(monkeypatch, present, chosen):
    cuda_present(monkeypatch, present)
    assert with_device(Membership(), None).device == chosen


def test_the_games_own_device_and_an_explicit_one_are_kept(monkeypatch):
    cuda_present(monkeypatch, True)
    assert with_device(Membership(device="cpu"), None).device == "cpu"
    assert with_device(Membership(), "cpu").device == "cpu"
    assert with_device(Membership(), "cuda:1").device == "cuda:1"


def test_cuda_without_a_device_and_unknown_devices_are_refused(monkeypatch):
    cuda_present(monkeypatch, False)
    with pytest.raises(InvalidArgument, match="no CUDA device; use device='cpu'"):
        with_device(Membership(), "cuda")
    with pytest.raises(InvalidArgument, match="must be 'cpu' or 'cuda'"):
        with_device(Membership(), "tpu")


def test_games_without_torch_take_cpu_and_refuse_cuda():
    game = OneTimePad()
    assert with_device(game, None) is game and with_device(game, "cpu") is game
    with pytest.raises(InvalidArgument, match="does not use torch"):
        with_device(game, "cuda")


def test_cli_refuses_cuda_for_a_game_without_torch(capsys):
    assert (
        main(["run", "otp", "--adversary", "two-time-pad", "--trials", "10", "--device", "cuda"])
        == 2
    )
    assert "does not use torch" in capsys.readouterr().err
