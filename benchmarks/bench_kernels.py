"""Throughput of the popcount kernels: runs `loom.kernels.bench` (`loom bench kernels`).

Usage: python benchmarks/bench_kernels.py [--quick] [--threads N] [--json]
"""

from __future__ import annotations

import sys

from loom.kernels.bench import main

if __name__ == "__main__":
    main(sys.argv[1:])
