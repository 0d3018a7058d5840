"""Benchmarks of storagedb; ``python -m benchmarks oltp|olap`` runs the harness in ``storagedb.bench``."""
