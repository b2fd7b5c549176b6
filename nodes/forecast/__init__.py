"""Forecasts the site makes for itself: household load from its own history, and the PV
forecast calibrated to its own panels."""

from flowengine.registry import Declared
from nodes.forecast.aggregate import ForecastAggregate
from nodes.forecast.calibrate import SECTION as CALIBRATION_SECTION
from nodes.forecast.calibrate import ForecastCalibrate
from nodes.forecast.load import ForecastLoad
from nodes.forecast.predictor import DEFAULT_TUNING, Tuning, predict_load
from nodes.forecast.profile import DEFAULT_PROFILE

NODE_TYPES: list[Declared] = [
    ForecastLoad,
    ForecastAggregate,
    ForecastCalibrate,
    CALIBRATION_SECTION,
]

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_TUNING",
    "NODE_TYPES",
    "ForecastAggregate",
    "ForecastCalibrate",
    "ForecastLoad",
    "Tuning",
    "predict_load",
]
