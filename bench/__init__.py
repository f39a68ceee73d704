"""Benchmarks for Nice Pick: synthetic content, load generation, results table."""
