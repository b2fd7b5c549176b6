"""What the PV forecast providers share: half-hour periods from a provider's own time grid
(``periods``), and checks that say which response or setting is wrong (``validation``).

A library, with no node types of its own: the providers are ``nodes.solcast``
(``solcast.pv``) and ``nodes.forecast_solar`` (``forecast_solar.pv``), each
registered by its own package.
"""
