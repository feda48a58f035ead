"""The benchmark: FLOPs, timings, peak memory, random full-size weights and suites."""
