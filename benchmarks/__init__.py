"""Measurements of wechatpay_chain, not shipped with the package. From the repository root:

    python -m benchmarks.reliability --quick|--full   # soak, faults, tampering, fuzzing
    python -m benchmarks.performance --quick|--full   # CPU, speed and memory against the floor and wechatpayv3
    python -m benchmarks.import_time                  # what `import wechatpay_chain` costs over its dependencies
    python -m benchmarks.typed_chain                  # what the typed chain's stubs cost mypy (and pyright)

tests/test_reliability.py and tests/test_performance_benchmark.py import them and run their parts at test size.
"""
