"""Region affinity: a known client region prefers that region's pools, and only prefers."""

from __future__ import annotations

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.placement.region import parse_region_map, region_from_header
from tests.placement.conftest import MB, TB, Fleet


async def _eu_and_us(fleet: Fleet) -> tuple[int, int]:
    await fleet.node("s01")
    await fleet.node("s02")
    eu = await fleet.pool("eu", "s01", region="eu-central")
    us = await fleet.pool("us", "s02", region="us-east")
    # The US pool is emptier: without a region, least_used takes it.
    await fleet.beat("s01", used={eu.id: TB // 2})
    await fleet.beat("s02", used={us.id: 0})
    return eu.id, us.id


async def test_a_known_region_prefers_its_pools_over_emptier_ones_elsewhere(fleet: Fleet):
    eu, us = await _eu_and_us(fleet)

    placement = await fleet.place(region="eu-central")

    assert placement.pool.id == eu
    assert placement.explanation.region == "eu-central"
    assert placement.explanation.region_source == "query"
    assert [(v.pool_id, v.reason) for v in placement.explanation.skipped] == [(us, "other_region")]
    assert (await fleet.place()).pool.id == us


async def test_when_no_pool_of_the_region_can_take_it_any_region_will_do(fleet: Fleet):
    eu, us = await _eu_and_us(fleet)
    await fleet.beat("s01", free=MB)  # the EU pool is full now

    placement = await fleet.place(region="eu-central")

    assert placement.pool.id == us
    assert placement.explanation.rule.startswith(
        "no eligible pool in region eu-central; any region"
    )
    assert {v.pool_id: v.reason for v in placement.explanation.skipped} == {eu: "no_room"}


async def test_an_unknown_region_changes_nothing(fleet: Fleet):
    _, us = await _eu_and_us(fleet)

    assert (await fleet.place(region="ap-south")).pool.id == us


def test_a_cdn_country_header_maps_to_a_pool_region():
    settings = AppSettings(region_header="CF-IPCountry", region_map="DE=eu-central, AT=eu-central")

    assert region_from_header(settings, "de", "203.0.113.9") == "eu-central"
    assert region_from_header(settings, "AT", "203.0.113.9") == "eu-central"
    # Unmapped values are used as they are, when they look like a region.
    assert region_from_header(settings, "US", "203.0.113.9") == "us"
    assert region_from_header(settings, "T1 / tor", "203.0.113.9") is None
    assert region_from_header(settings, None, "203.0.113.9") is None


def test_behind_trusted_proxies_only_their_header_counts():
    settings = AppSettings(
        region_header="CF-IPCountry", region_map="de=eu-central", trusted_proxies="10.0.0.0/8"
    )

    assert region_from_header(settings, "DE", "10.1.2.3") == "eu-central"
    assert region_from_header(settings, "DE", "198.51.100.7") is None


def test_without_a_configured_header_there_is_no_header_region():
    assert region_from_header(AppSettings(), "DE", "10.1.2.3") is None


def test_a_malformed_region_map_fails_loudly():
    with pytest.raises(ValueError, match="PIXELFOX_REGION_MAP"):
        parse_region_map("de:eu-central")
    with pytest.raises(ValueError, match="PIXELFOX_REGION_MAP"):
        parse_region_map("de=EU Central")
