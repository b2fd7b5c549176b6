"""What tests across packages share: real peers they start for themselves (a private
Mosquitto broker, ...), the ``test.*`` node types and the registry to build engines with."""
