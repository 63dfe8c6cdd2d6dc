"""theon benchmark suite: ``python3 benchmarks/run.py [--quick]`` (see README.md)."""
