"""Measurements of wechatpay_chain, not shipped with the package. From the repository root:

    python -m benchmarks.reliability --quick|--full   # soak, faults, tampering, fuzzing
    python -m benchmarks.performance --quick|--full   # speed against the floor and the incumbent SDK
    python -m benchmarks.typed_chain                  # what the typed chain's stubs cost mypy (and pyright)

tests/test_reliability.py imports benchmarks.reliability and runs its parts at test size.
"""
