"""PRFs, the Feistel cipher, modes of operation and MACs: definitions, inverses, batching."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.crypto import (
    ENCRYPTION_SCHEMES,
    MAC_SCHEMES,
    PRF_NAMES,
    CBCMac,
    Feistel,
    ToyLinearPRF,
    as_blocks,
    encryption_scheme,
    get_prf,
    mac_scheme,
    mask,
    siphash,
)
from oracles import InvalidArgument

SETTINGS = settings(max_examples=25, deadline=None)
bits = st.integers(8, 64)
even_bits = st.integers(4, 32).map(lambda half: 2 * half)
seeds = st.integers(0, 2**32 - 1)
prf_names = st.sampled_from(PRF_NAMES)


def blocks(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 1 << n, size=shape, dtype=np.uint64)


# -- PRFs ---------------------------------------------------------------------------------


def test_blake2_is_keyed_blake2b_truncated() -> None:
    f = get_prf("blake2", 20)
    key = f.keygen(np.random.default_rng(0))
    digest = hashlib.blake2b(
        (12345).to_bytes(8, "little"), key=key.astype("<u8").tobytes(), digest_size=8
    ).digest()
    assert f(key, 12345) == int.from_bytes(digest, "little") & mask(20)


@SETTINGS
@given(name=prf_names, n=bits, out=bits, seed=seeds)
def test_prf_batched_equals_per_call(name: str, n: int, out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    f = get_prf(name, n, out)
    keys = f.keygen(rng, 3)
    xs = blocks(rng, n, (3, 4))
    batched = f(keys, xs)
    assert batched.dtype == np.uint64 and batched.shape == (3, 4)
    per_call = [[f(keys[i], int(xs[i, j])) for j in range(4)] for i in range(3)]
    assert batched.tolist() == per_call
    # One key against a row of points is the same computation again.
    assert f(keys[1], xs[1]).tolist() == per_call[1]
    assert int(batched.max()) <= mask(out)


@SETTINGS
@given(n=bits, affine=st.booleans(), seed=seeds, data=st.data())
def test_toy_linear_is_affine(n: int, affine: bool, seed: int, data: st.DataObject) -> None:
    f = ToyLinearPRF(in_bits=n, out_bits=n, affine=affine)
    key = f.keygen(np.random.default_rng(seed))
    x = data.draw(st.integers(0, mask(n)))
    y = data.draw(st.integers(0, mask(n)))
    assert f(key, x ^ y) == f(key, x) ^ f(key, y) ^ f(key, 0)
    if not affine:
        assert f(key, 0) == 0


# SipHash-2-4's reference test vector for the 8-byte message 00 01 … 07 under the key
# 00 01 … 0f: entry 8 of vectors_sip64 in the reference implementation's vectors.h
# (github.com/veorq/SipHash), the bytes 62 24 93 9a 79 f5 f5 93 read as a little-endian word.
SIPHASH_KEY = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
SIPHASH_MESSAGE = 0x0706050403020100
SIPHASH_TAG = 0x93F5F5799A932462


def test_siphash_matches_the_reference_vector() -> None:
    f = get_prf("siphash", 64)
    key = np.array(SIPHASH_KEY, dtype=np.uint64)
    assert f(key, SIPHASH_MESSAGE) == SIPHASH_TAG
    assert f(key, np.array([SIPHASH_MESSAGE], dtype=np.uint64)).tolist() == [SIPHASH_TAG]
    assert get_prf("siphash", 64, 20)(key, SIPHASH_MESSAGE) == SIPHASH_TAG & mask(20)


@pytest.mark.parametrize("spell_out", [0, 1 << 13])
def test_siphash_batches_across_chunks(monkeypatch: pytest.MonkeyPatch, spell_out: int) -> None:
    # Points cross the numpy pass's chunk boundary, with one key and with a key per row;
    # rotation amounts broadcast (spell_out 0) or spelled out per point.
    monkeypatch.setattr(siphash, "_SIP_CHUNK", 5)
    monkeypatch.setattr(siphash, "_SIP_SPELL_OUT", spell_out)
    rng = np.random.default_rng(2)
    f = get_prf("siphash", 64)
    keys, xs = f.keygen(rng, 3), blocks(rng, 64, (3, 7))
    assert f(keys, xs).tolist() == [[f(keys[i], int(x)) for x in xs[i]] for i in range(3)]
    assert f(keys[0], xs.reshape(-1)).tolist() == [f(keys[0], int(x)) for x in xs.reshape(-1)]


@pytest.mark.parametrize("name", ["blake2", "siphash"])
def test_a_real_prf_is_not_affine(name: str) -> None:
    rng = np.random.default_rng(1)
    f = get_prf(name, 32)
    keys = f.keygen(rng, 200)
    x, y = blocks(rng, 32, (200,)), blocks(rng, 32, (200,))
    zero = np.zeros(200, dtype=np.uint64)
    holds = f(keys, x ^ y) == f(keys, x) ^ f(keys, y) ^ f(keys, zero)
    assert holds.sum() == 0


def test_keys_are_reproducible_from_the_seed() -> None:
    for name in PRF_NAMES:
        f = get_prf(name, 16)
        first = f.keygen(np.random.default_rng(7), 4)
        again = f.keygen(np.random.default_rng(7), 4)
        assert (first == again).all()


# -- Feistel ------------------------------------------------------------------------------


@SETTINGS
@given(n=st.sampled_from([8, 10, 12]), rounds=st.integers(1, 5), name=prf_names, seed=seeds)
def test_feistel_is_a_permutation_and_inverts(n: int, rounds: int, name: str, seed: int) -> None:
    cipher = Feistel(n=n, rounds=rounds, prf=name)
    key = cipher.keygen(np.random.default_rng(seed))
    domain = np.arange(1 << n, dtype=np.uint64)
    image = cipher.encrypt(key, domain)
    assert np.array_equal(np.sort(image), domain)
    assert np.array_equal(cipher.decrypt(key, image), domain)


@SETTINGS
@given(n=even_bits, rounds=st.integers(1, 6), name=prf_names, seed=seeds)
def test_feistel_batched_equals_per_call(n: int, rounds: int, name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cipher = Feistel(n=n, rounds=rounds, prf=name)
    keys = cipher.keygen(rng, 3)
    assert keys.shape == (3, *cipher.key_shape)
    xs = blocks(rng, n, (3, 2))
    ys = cipher.encrypt(keys, xs)
    assert ys.tolist() == [
        [cipher.encrypt(keys[i], int(xs[i, j])) for j in range(2)] for i in range(3)
    ]
    assert [cipher.decrypt(keys[i], int(ys[i, 0])) for i in range(3)] == xs[:, 0].tolist()
    assert np.array_equal(cipher.decrypt(keys, ys), xs)


def test_one_round_feistel_leaks_the_right_half() -> None:
    cipher = Feistel(n=16, rounds=1)
    key = cipher.keygen(np.random.default_rng(3))
    xs = np.arange(0, 1 << 16, 97, dtype=np.uint64)
    assert np.array_equal(cipher.encrypt(key, xs) >> np.uint64(8), xs & np.uint64(0xFF))


# -- encryption ---------------------------------------------------------------------------


@SETTINGS
@given(
    name=st.sampled_from(ENCRYPTION_SCHEMES),
    prf=prf_names,
    n=even_bits,
    length=st.integers(1, 5),
    seed=seeds,
)
def test_schemes_decrypt_per_trial_and_batched(
    name: str, prf: str, n: int, length: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    scheme = encryption_scheme(name, n=n, prf=prf, rounds=3)
    key = scheme.keygen(rng)
    m = blocks(rng, n, (length,))
    c = scheme.enc(key, m, rng)
    assert c.shape == (length if name == "ecb" else length + 1,)
    assert np.array_equal(scheme.dec(key, c), m)
    keys = scheme.keygen(rng, 4)
    ms = blocks(rng, n, (4, length))
    cs = scheme.enc(keys, ms, rng)
    assert np.array_equal(scheme.dec(keys, cs), ms)
    # A batched ciphertext decrypts trial by trial with that trial's key.
    for i in range(4):
        assert np.array_equal(scheme.dec(keys[i], cs[i]), ms[i])


def test_cbc_chains_blocks() -> None:
    rng = np.random.default_rng(5)
    scheme = encryption_scheme("cbc", n=32)
    key = scheme.keygen(rng)
    c = scheme.enc(key, [9, 9, 9], rng)
    cipher = scheme.cipher
    previous = int(c[0])
    for block in c[1:]:
        assert int(block) == cipher.encrypt(key, 9 ^ previous)
        previous = int(block)


def test_ecb_is_deterministic_and_batched_equals_per_trial() -> None:
    rng = np.random.default_rng(11)
    scheme = encryption_scheme("ecb", n=24)
    keys = scheme.keygen(rng, 3)
    ms = blocks(rng, 24, (3, 2))
    cs = scheme.enc(keys, ms)
    for i in range(3):
        assert np.array_equal(scheme.enc(keys[i], ms[i]), cs[i])
    assert np.array_equal(scheme.enc(keys, ms), cs)


def test_ctr_nonce_reuse_reuses_the_keystream() -> None:
    rng = np.random.default_rng(2)
    broken = encryption_scheme("ctr-nonce-reuse", n=64)
    sound = encryption_scheme("ctr", n=64)
    m1, m2 = blocks(rng, 64, (3,)), blocks(rng, 64, (3,))
    key = broken.keygen(rng)
    c1, c2 = broken.enc(key, m1, rng), broken.enc(key, m2, rng)
    assert np.array_equal(c1[1:] ^ c2[1:], m1 ^ m2)
    assert np.array_equal(c1[1:] ^ m1, broken.keystream(key, np.uint64(0)[None], 3)[0])
    key = sound.keygen(rng)
    c1, c2 = sound.enc(key, m1, rng), sound.enc(key, m2, rng)
    assert c1[0] != c2[0]
    assert not np.array_equal(c1[1:] ^ c2[1:], m1 ^ m2)


# -- MACs ---------------------------------------------------------------------------------


@SETTINGS
@given(name=st.sampled_from(MAC_SCHEMES), prf=prf_names, n=even_bits, seed=seeds)
def test_mac_batched_equals_per_trial(name: str, prf: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mac = mac_scheme(name, n=n, prf=prf)
    length = 1 if name == "prf-mac" else 3
    keys = mac.keygen(rng, 4)
    ms = blocks(rng, n, (4, length))
    tags = mac.tag(keys, ms)
    assert tags.shape == (4,)
    per_trial = [mac.tag(keys[i], ms[i]) for i in range(4)]
    assert tags.tolist() == per_trial and all(isinstance(t, int) for t in per_trial)
    assert mac.verify(keys, ms, tags).all()
    assert not mac.verify(keys, ms, tags ^ np.uint64(1)).any()
    assert mac.verify(keys[0], ms[0], per_trial[0]) is True
    assert mac.verify(keys[0], ms[0], per_trial[0] ^ 1) is False


def test_hmac_is_truncated_hmac_sha256() -> None:
    mac = mac_scheme("hmac", n=40)
    key = mac.keygen(np.random.default_rng(4))
    digest = hmac.digest(
        key.astype("<u8").tobytes(), np.array([1, 2], dtype="<u8").tobytes(), "sha256"
    )
    assert mac.tag(key, [1, 2]) == int.from_bytes(digest[:8], "little") & mask(40)


def test_cbc_mac_extension_identity() -> None:
    mac = CBCMac(n=32)
    key = mac.keygen(np.random.default_rng(6))
    t = mac.tag(key, [77])
    assert mac.tag(key, [77, 77 ^ t]) == t


# -- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [7, 65, 0, -8, True, 16.0])
def test_block_size_out_of_range(n: object) -> None:
    with pytest.raises(InvalidArgument, match=r"n=.* must be an integer in \[8, 64\]"):
        Feistel(n=n, rounds=3)
    with pytest.raises(InvalidArgument, match=r"n=.* must be an integer in \[8, 64\]"):
        encryption_scheme("ctr", n=n)
    with pytest.raises(InvalidArgument, match=r"n=.* must be an integer in \[8, 64\]"):
        mac_scheme("hmac", n=n)


def test_prf_bits_out_of_range() -> None:
    with pytest.raises(InvalidArgument, match=r"in_bits=0 must be an integer in \[1, 64\]"):
        get_prf("blake2", 0)
    with pytest.raises(InvalidArgument, match=r"out_bits=65 must be an integer in \[1, 64\]"):
        get_prf("toy-linear", 8, 65)


def test_feistel_needs_even_n_and_a_round() -> None:
    with pytest.raises(InvalidArgument, match="n=9 must be even"):
        Feistel(n=9, rounds=3)
    with pytest.raises(InvalidArgument, match="rounds=0 must be a positive integer"):
        Feistel(n=16, rounds=0)
    with pytest.raises(InvalidArgument, match="rounds=-2 must be a positive integer"):
        encryption_scheme("cbc", n=16, rounds=-2)


def test_unknown_names() -> None:
    with pytest.raises(
        InvalidArgument, match="prf='aes' must be one of: blake2, siphash, toy-linear"
    ):
        get_prf("aes", 16)
    with pytest.raises(InvalidArgument, match="prf='aes' must be one of"):
        Feistel(n=16, rounds=3, prf="aes")
    with pytest.raises(InvalidArgument, match="scheme='ofb' must be one of: ecb, cbc"):
        encryption_scheme("ofb", n=16)
    with pytest.raises(InvalidArgument, match="mac='pmac' must be one of: prf-mac"):
        mac_scheme("pmac", n=16)


def test_python_ints_become_64_bit_blocks_exactly() -> None:
    # numpy reads [1, 2**63] as float64; the blocks must be the ints themselves.
    top = (1 << 64) - 1
    for value in ([1, 1 << 63], [[0, top], [1 << 63, 5]], (top, 2, (1 << 63) + 1)):
        blocks = as_blocks(value, 64)
        assert blocks.dtype == np.uint64 and np.array(value, dtype=object).tolist() == (
            blocks.tolist()
        )
    assert as_blocks(1 << 63, 64).item() == 1 << 63
    for bad in ([1, 1 << 64], [1 << 63, -1], [1, 2.0], [1 << 63, "a"], [[1, 2], [3]]):
        with pytest.raises(InvalidArgument, match=r"must hold integers in \[0, 2\*\*64\)"):
            as_blocks(bad, 64)


def test_bad_points_and_messages() -> None:
    rng = np.random.default_rng(0)
    f = get_prf("blake2", 8)
    key = f.keygen(rng)
    with pytest.raises(InvalidArgument, match=r"x=256 must be an integer in \[0, 2\*\*8\)"):
        f(key, 256)
    with pytest.raises(InvalidArgument, match=r"x holds 300, outside \[0, 2\*\*8\)"):
        f(key, np.array([1, 300]))
    # a huge invalid input gives a short message, not the input again
    with pytest.raises(InvalidArgument) as refused:
        as_blocks([-1] + list(range(100_000)), 8, "m")
    assert len(str(refused.value)) < 300 and "must hold integers" in str(refused.value)
    with pytest.raises(InvalidArgument, match="key of shape"):
        f(key[:1], 3)
    with pytest.raises(InvalidArgument, match="must hold integers"):
        as_blocks([-1, 2], 8)
    with pytest.raises(InvalidArgument, match="must hold integers"):
        as_blocks(["a"], 8)
    with pytest.raises(InvalidArgument, match=r"x=-1 must be an integer"):
        Feistel(n=8, rounds=2).encrypt(Feistel(n=8, rounds=2).keygen(rng), -1)
    scheme = encryption_scheme("cbc", n=16)
    with pytest.raises(InvalidArgument, match="at least one block"):
        scheme.enc(scheme.keygen(rng), [], rng)
    with pytest.raises(InvalidArgument, match="must have shape"):
        scheme.enc(scheme.keygen(rng, 2), [[1, 2], [3, 4], [5, 6]], rng)
    with pytest.raises(InvalidArgument, match="one-block messages"):
        mac_scheme("prf-mac", n=16).tag(f.keygen(rng), [1, 2])
    with pytest.raises(InvalidArgument, match="size=0 must be a positive integer"):
        f.keygen(rng, 0)
