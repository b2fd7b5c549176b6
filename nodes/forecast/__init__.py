"""Forecasts the site makes for itself: household load from its own history."""

from nodes.forecast.aggregate import ForecastAggregate
from nodes.forecast.load import ForecastLoad
from nodes.forecast.predictor import DEFAULT_TUNING, Tuning, predict_load
from nodes.forecast.profile import DEFAULT_PROFILE

NODE_TYPES = [ForecastLoad, ForecastAggregate]

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_TUNING",
    "NODE_TYPES",
    "ForecastAggregate",
    "ForecastLoad",
    "Tuning",
    "predict_load",
]
