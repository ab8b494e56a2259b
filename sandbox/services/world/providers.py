"""A Faker provider for the restoration domain, for anyone who wants this world's wording."""

from __future__ import annotations

from typing import Any

from faker.providers import BaseProvider

from . import catalogue
from .scope import extract_claim_scope, room_dimensions, scope_item
from .scripts import transcript_for
from .tenants import BRAND, service_area


class RestorationProvider(BaseProvider):
    """Franchise names, service areas, call transcripts, scope items, reviews and blog titles.

    Every method draws from the generator's seeded Random, so ``Faker.seed_instance``
    makes them repeatable.
    """

    def franchise_area(self) -> dict[str, Any]:
        """An Atlanta-metro territory: name, cities with postal codes, local places."""
        return dict(self.random_element(catalogue.areas()))

    def franchise_location_name(self) -> str:
        """A location name such as ``PuroClean of West Cobb``."""
        return f"{BRAND} of {self.franchise_area()['name']}"

    def franchise_network_name(self) -> str:
        return str(self.random_element(catalogue.networks()))

    def service_area(self) -> dict[str, Any]:
        """``{city, region: "GA", postal_codes}`` for one territory."""
        return service_area(self.franchise_area())

    def restoration_transcript(self, classification: str = "water", **slots: str) -> str:
        """A call transcript of the given classification or intent."""
        return transcript_for(self.generator.random, classification, slots=slots)

    def scope_item(self, loss_type: str = "water", room: str = "Basement") -> dict[str, Any]:
        """One Xactimate-style line item sized to a room of typical dimensions."""
        rng = self.generator.random
        plan = catalogue.scope()["losses"][loss_type]
        code = rng.choice([*plan["always"], *plan["sometimes"]])
        return scope_item(rng, code, room_dimensions(rng, room))

    def claim_rooms(self, loss_type: str = "water") -> list[dict[str, Any]]:
        """Rooms with dimensions and scope items, as a claim extraction returns them."""
        return extract_claim_scope(self.generator.random, loss_type)

    def review_text(self, sentiment: str = "positive", location: str = f"{BRAND} of West Cobb") -> str:
        """A customer review of the given sentiment."""
        return str(self.random_element(catalogue.content()["reviews"][sentiment]).format(location=location))

    def blog_title(self, service: str = "water", city: str = "Alpharetta") -> str:
        """An SEO blog title for a service (water, fire, mold, biohazard, storm) in a city."""
        label = catalogue.content()["services"][service]["label"]
        return str(self.random_element(catalogue.content()["blog_titles"]).format(service=label, city=city))
