"""Faker-made pools of names and places, drawn once per seed and sampled with a seeded Random.

Faker costs tens of microseconds a call; ten thousand leads per location would spend seconds
in it. A few hundred draws per pool give plenty of variety at a fraction of the cost.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from faker import Faker

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
AREA_CODES = ("404", "470", "678", "770")
_NOT_LETTERS = re.compile(r"[^a-z]")


@dataclass(frozen=True)
class Pools:
    """Per-seed name pools; every draw goes through the caller's Random."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    companies: tuple[str, ...]

    @classmethod
    def draw(cls, faker: Faker, size: int = 400) -> Pools:
        """Fill each pool from ``faker`` (already seeded)."""
        return cls(
            first_names=tuple(faker.first_name() for _ in range(size)),
            last_names=tuple(faker.last_name() for _ in range(size)),
            streets=tuple(faker.street_name() for _ in range(size // 2)),
            companies=tuple(faker.company() for _ in range(size // 2)),
        )

    def person(self, rng: random.Random) -> tuple[str, str]:
        """A first and last name."""
        return rng.choice(self.first_names), rng.choice(self.last_names)

    def street_address(self, rng: random.Random) -> str:
        """A house number and street, e.g. ``4821 Hernandez Glens``."""
        return f"{rng.randint(100, 9899)} {rng.choice(self.streets)}"

    def company(self, rng: random.Random) -> str:
        return rng.choice(self.companies)


def email_for(rng: random.Random, first: str, last: str, *, short: bool = False) -> str:
    """An address on a reserved example domain: ``sarah.mitchell@example.com`` or ``dpark@…``."""
    first_part, last_part = _NOT_LETTERS.sub("", first.lower()), _NOT_LETTERS.sub("", last.lower())
    local = f"{first_part[:1]}{last_part}" if short else f"{first_part}.{last_part}"
    if rng.random() < 0.2:
        local += str(rng.randint(2, 99))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def phone_number(rng: random.Random, area_codes: tuple[str, ...] = AREA_CODES) -> str:
    """A fictional Atlanta-metro number in E.164: ``+1770555xxxx``."""
    return f"+1{rng.choice(area_codes)}555{rng.randint(0, 9999):04d}"
