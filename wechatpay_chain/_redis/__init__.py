"""Redis for several workers: the shared notification replay guard and the shared certificate list (`redis` extra)."""
