"""Identifier formats: the fast UUID formatting is exactly uuid.UUID's, prefixed ids follow the seeds."""

from __future__ import annotations

import random
import re
import uuid

from sandbox.base.ids import PREFIX_LENGTHS, IdFactory


def test_uuids_are_the_standard_library_version_4_uuids_of_the_same_bits():
    ids, bits = IdFactory(random.Random(7)), random.Random(7)
    for _ in range(20_000):
        made = ids.uuid()
        assert made == str(uuid.UUID(int=bits.getrandbits(128), version=4))
        assert uuid.UUID(made).version == 4 and uuid.UUID(made).variant == uuid.RFC_4122


def test_prefixed_ids_have_the_seed_formats():
    ids = IdFactory(random.Random(7))
    for prefix, length in PREFIX_LENGTHS.items():
        assert re.fullmatch(rf"{prefix}_[a-z0-9]{{{length}}}", ids.prefixed(prefix))
    assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}", ids.secret())
