"""The reliability suite: soak, faults, tampering and fuzzing against the emulator.

`python -m benchmarks.reliability --quick|--full` prints the figures; tests/test_reliability.py
runs the same parts at test size.
"""
