"""Backtests: run the real flows over a scenario under virtual time and score the bill."""
