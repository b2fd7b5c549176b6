"""The web UI: a small Starlette app over a running flow engine."""
