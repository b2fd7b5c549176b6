"""A simulated home battery site and a Fox ESS KH that speaks real Modbus TCP."""
