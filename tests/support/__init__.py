"""Real peers that tests start for themselves (a private Mosquitto broker, ...)."""
