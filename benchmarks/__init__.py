"""iamguard benchmark suite: the same IAM workloads timed in iamguard and in peer libraries.

Run ``python benchmarks/run.py`` (or ``python3 tasks.py bench``); see ``benchmarks/README.md``.
"""
