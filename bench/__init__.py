"""Benchmarks for issue 5: each script prints its figures and ratios; ``bench/run_all.py`` runs them all."""
