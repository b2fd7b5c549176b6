"""The site config's ``billing`` section: defaults, the tariff's fixed charges, located errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from flowengine.errors import InvalidFlows
from nodes.ledger.settings import BillingTerms
from powermaster.config import DEFAULTS, load_site_config

TARIFF = """\
tariff:
  import: [{name: flat, price: 0.30, from: "00:00", to: "24:00"}]
  export: 0.05
  supply_charge: 1.25
  monthly_fee: 9.90
"""


def site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text("site: {timezone: Australia/Sydney}\n" + text)
    return path


def test_the_defaults_bill_from_the_1st_at_a_plausible_supply_charge() -> None:
    assert DEFAULTS["billing"] == {"start_day": 1}
    terms = BillingTerms.from_settings(DEFAULTS)
    assert terms == BillingTerms(1, Decimal("1.10"), Decimal("0"), "Australia/Brisbane")


def test_the_billing_section_is_read_exactly(tmp_path: Path) -> None:
    text = "billing: {start_day: 5, supply_charge: 1.0725, monthly_fee: 15}\n"
    terms = BillingTerms.from_settings(load_site_config(site(tmp_path, text)))
    assert terms == BillingTerms(5, Decimal("1.0725"), Decimal("15"), "Australia/Sydney")


def test_a_tariff_s_fixed_charges_are_used_when_billing_leaves_them_out(tmp_path: Path) -> None:
    settings = load_site_config(site(tmp_path, TARIFF + "billing: {start_day: 12}\n"))
    terms = BillingTerms.from_settings(settings)
    assert (terms.start_day, terms.supply_charge, terms.monthly_fee) == (
        12,
        Decimal("1.25"),
        Decimal("9.9"),
    )
    same = load_site_config(site(tmp_path, TARIFF + "billing: {supply_charge: 1.25}\n"))
    assert BillingTerms.from_settings(same).supply_charge == Decimal("1.25")


def test_billing_and_tariff_disagreeing_on_a_charge_is_located(tmp_path: Path) -> None:
    path = site(tmp_path, TARIFF + "billing:\n  start_day: 5\n  supply_charge: 1.10\n")
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (9, 18)
    assert "billing.supply_charge (1.1) differs from tariff.supply_charge (1.25)" in str(problem)


@pytest.mark.parametrize(
    ("section", "where", "message"),
    [
        ("billing: {start_day: 29}", "2:22", "'billing.start_day' must be at most 28, not 29"),
        ("billing: {start_day: 0}", "2:22", "must be at least 1"),
        ("billing: {start_day: 1.5}", "2:22", "must be a whole number"),
        ("billing: {supply_charge: -1}", "2:26", "must be at least 0"),
        ("billing: {supply_fee: 1}", "2:11", "did you mean 'supply_charge'?"),
    ],
)
def test_a_bad_billing_setting_is_named_where_it_is(
    tmp_path: Path, section: str, where: str, message: str
) -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(site(tmp_path, section + "\n"))
    (problem,) = caught.value.problems
    assert f"site.yaml:{where}: " in str(problem)
    assert message in problem.message


def test_an_unknown_time_zone_is_refused_by_the_terms() -> None:
    with pytest.raises(ValueError, match="not a known IANA zone"):
        BillingTerms.from_settings({"site": {"timezone": "Australia/Gotham"}})
