"""The restoration Faker provider is seeded by Faker.seed_instance."""

from __future__ import annotations

from faker import Faker

from sandbox.services.world import RestorationProvider, transcript_intent
from sandbox.services.world.catalogue import areas


def seeded_faker(seed: int) -> Faker:
    faker = Faker("en_US")
    faker.seed_instance(seed)
    faker.add_provider(RestorationProvider)
    return faker


def test_provider_draws_are_repeatable() -> None:
    first, second = seeded_faker(5), seeded_faker(5)
    for method in (
        "franchise_location_name",
        "service_area",
        "restoration_transcript",
        "claim_rooms",
        "review_text",
        "blog_title",
        "scope_item",
        "franchise_network_name",
    ):
        assert getattr(first, method)() == getattr(second, method)()


def test_provider_wording_is_georgian_restoration() -> None:
    faker = seeded_faker(9)
    names = {area["name"] for area in areas()}
    assert faker.franchise_location_name().removeprefix("PuroClean of ") in names
    assert faker.service_area()["region"] == "GA"
    assert transcript_intent(faker.restoration_transcript("mold")) == "mold"
    assert "Roswell" in faker.blog_title("mold", "Roswell")
    assert faker.scope_item("fire", "Kitchen")["unit"] in ("SF", "LF", "EA", "SY", "HR", "DA")
