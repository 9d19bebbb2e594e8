"""Benchmarks (``make bench``): Wang-Landau speed, accuracy and scaling; ground-state search."""
