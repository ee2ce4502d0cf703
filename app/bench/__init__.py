"""Benchmark suite (`wes bench`): measures the node as users feel it. Not part of the test run."""
