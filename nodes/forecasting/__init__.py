"""Forecasts the site makes for itself: household load from its own history."""

from nodes.forecasting.node import ForecastLoad
from nodes.forecasting.predictor import DEFAULT_TUNING, Tuning, predict_load
from nodes.forecasting.profile import DEFAULT_PROFILE

NODE_TYPES = [ForecastLoad]

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_TUNING",
    "NODE_TYPES",
    "ForecastLoad",
    "Tuning",
    "predict_load",
]
