"""Classic cryptography: n-bit PRFs, Feistel, modes of operation and MACs, and their games.

The modules: :mod:`~games.crypto.primitives` (the PRFs and the Feistel cipher),
:mod:`~games.crypto.schemes` (encryption modes and MACs), :mod:`~games.crypto.ideal` (the
random function and permutation of the ideal worlds) and :mod:`~games.crypto.games`.
"""

from games.crypto.games import Collision, EufCMA, IndCPA, PRFSecurity, PRGSecurity, PRPSecurity
from games.crypto.ideal import BatchRandomFunction, BatchRandomPermutation
from games.crypto.primitives import (
    BLOCK_BITS,
    PRF,
    PRF_NAMES,
    Blake2PRF,
    BuiltinPRF,
    Feistel,
    LinearPRF,
    SipHashPRF,
    ToyLinearPRF,
    as_blocks,
    check_block_bits,
    get_prf,
    mask,
    uniform_blocks,
)
from games.crypto.schemes import (
    CBC,
    CTR,
    ECB,
    ENCRYPTION_SCHEMES,
    HMAC,
    MAC_SCHEMES,
    CBCMac,
    EncryptionScheme,
    MacScheme,
    PRFMac,
    encryption_scheme,
    mac_scheme,
)

__all__ = [
    "BLOCK_BITS",
    "BatchRandomFunction",
    "BatchRandomPermutation",
    "Blake2PRF",
    "BuiltinPRF",
    "CBC",
    "CBCMac",
    "CTR",
    "Collision",
    "ECB",
    "ENCRYPTION_SCHEMES",
    "EncryptionScheme",
    "EufCMA",
    "Feistel",
    "HMAC",
    "IndCPA",
    "LinearPRF",
    "MAC_SCHEMES",
    "MacScheme",
    "PRF",
    "PRFMac",
    "PRFSecurity",
    "PRF_NAMES",
    "PRGSecurity",
    "PRPSecurity",
    "SipHashPRF",
    "ToyLinearPRF",
    "as_blocks",
    "check_block_bits",
    "encryption_scheme",
    "get_prf",
    "mac_scheme",
    "mask",
    "uniform_blocks",
]
