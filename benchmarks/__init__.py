"""Measurements of wechatpay_chain, run from the repository root (not shipped with the package).

    python -m benchmarks.reliability --quick|--full   # soak, faults, tampering, fuzzing
    python -m benchmarks.performance --quick|--full   # speed against the floor and the incumbent SDK
"""
