"""Identifier formats copied from the published reference.

UUIDs for organizations, leads, prospects, webhooks, grants and audit events; short
lowercase base-36 suffixes behind a prefix for the rest (``ctnt_3p9w7m2q4r``,
``call_q4n8p2w7``, ``clm_8w3p1m``, ``whsec_…``).

The seeded world's ids come from a ``random.Random`` seeded with the world seed, so a seed always
builds the same world. Ids minted at run time (records, events, deliveries, secrets) come from
``run_time_ids``: random by default, so they never repeat across sandboxes, resets and restarts;
reproducible (seeded) only when asked for, for snapshot tests.
"""

from __future__ import annotations

import os
import random
import secrets
import string

_ALNUM = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
# RFC 4122 variant (10xx in the clock_seq_hi byte) and version 4 (0100 in time_hi), as uuid.UUID sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)

PREFIX_LENGTHS = {
    "ctnt": 10,
    "call": 8,
    "clm": 6,
    "msg": 6,
    "sup": 6,
    "seq": 8,
    "whd": 8,
    "evt": 12,
    "corr": 6,
    "itok": 24,
    "scope": 6,
    "jn": 6,
}


class IdFactory:
    """Deterministic id source: one per world, seeded from the world seed."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    @classmethod
    def seeded(cls, seed: int) -> IdFactory:
        """The id source a world of ``seed`` is built with: the same seed, the same ids."""
        return cls(random.Random(seed))

    def uuid(self) -> str:
        """A version-4 UUID from 128 random bits: exactly ``str(uuid.UUID(int=bits, version=4))``,
        formatted without building the UUID object (ids are made on every write)."""
        bits = self._rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def prefixed(self, prefix: str, length: int | None = None) -> str:
        size = length or PREFIX_LENGTHS.get(prefix, 8)
        return f"{prefix}_" + "".join(self._rng.choices(_ALNUM, k=size))

    def secret(self) -> str:
        """A webhook signing secret: ``whsec_`` + 32 alphanumerics."""
        return "whsec_" + "".join(self._rng.choices(_SECRET_ALPHABET, k=32))

    def crm_external_id(self) -> str:
        return f"jn_{self._rng.randrange(100000, 999999)}"

    def state(self) -> object:
        """The generator state, to rewind to on reset."""
        return self._rng.getstate()

    def restore(self, state: object) -> None:
        self._rng.setstate(state)  # type: ignore[arg-type]


def run_time_ids(seed: int, reproducible: bool) -> IdFactory:
    """The id source of a sandbox's run-time writes: fresh randomness, or seeded from ``seed``."""
    return IdFactory(random.Random(f"{seed}|run-time" if reproducible else os.urandom(32)))


TEST_PREFIX = "eal_test_"  # every sandbox key's token starts so
SANDBOX_ID_PREFIX, SANDBOX_ID_CHARS = "sbx_", 24
TOKEN_RANDOM_CHARS = 32


def new_sandbox_id() -> str:
    return random_token(SANDBOX_ID_PREFIX, SANDBOX_ID_CHARS)


def sandbox_token(sandbox_id: str, secret_part: str | None = None) -> str:
    """A key token that names its sandbox: ``eal_test_`` + the sandbox id's 24 characters + 32
    unguessable ones (``secret_part``, or fresh randomness), so finding a key's sandbox needs no index."""
    named = sandbox_id.removeprefix(SANDBOX_ID_PREFIX)
    return TEST_PREFIX + named + (secret_part or random_token("", TOKEN_RANDOM_CHARS))


def token_sandbox(token: str) -> str | None:
    """The sandbox id a ``sandbox_token`` names, or None for a token that names none (the seed's)."""
    named = token[len(TEST_PREFIX) : len(TEST_PREFIX) + SANDBOX_ID_CHARS]
    if len(token) != len(TEST_PREFIX) + SANDBOX_ID_CHARS + TOKEN_RANDOM_CHARS or not token.startswith(TEST_PREFIX):
        return None
    return SANDBOX_ID_PREFIX + named


def random_token(prefix: str, length: int = 32) -> str:
    """An unguessable ``prefix`` + lowercase alphanumerics, from the operating system's randomness."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))
