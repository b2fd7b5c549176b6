"""Forecasts the site makes for itself: household load from its own history."""

from nodes.forecasting.aggregate import ForecastAggregate
from nodes.forecasting.node import ForecastLoad
from nodes.forecasting.predictor import DEFAULT_TUNING, Tuning, predict_load
from nodes.forecasting.profile import DEFAULT_PROFILE

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
