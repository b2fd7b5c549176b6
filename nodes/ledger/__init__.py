"""The ledger: every cent accounted (events, cost basis, billing cycles)."""
