"""A static time-of-use tariff (sources.prices: tariff) for households not on Amber."""

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.inputs.refresh import provider_node
from nodes.tariff.bands import TariffProblem
from nodes.tariff.check import InvalidTariff, check_tariff
from nodes.tariff.provider import TariffPrices
from nodes.tariff.schema import TARIFF_SCHEMA
from nodes.tariff.tariff import Tariff

PROVIDERS = [TariffPrices]
NODE_TYPES: list[Declared] = [provider_node(TariffPrices)]
SETTINGS_SCHEMA = {"tariff": TARIFF_SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, object]] = {}
SETTINGS_CHECKS = {"tariff": check_tariff}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "InvalidTariff",
    "Tariff",
    "TariffPrices",
    "TariffProblem",
    "check_tariff",
]
