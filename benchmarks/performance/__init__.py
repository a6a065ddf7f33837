"""The performance benchmark: wechatpay_chain against the cryptographic floor and the incumbent SDK.

`python -m benchmarks.performance --quick|--full` prints the figures (needs the `bench` extra).
"""
