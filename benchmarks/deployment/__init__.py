"""Deployment figures: worker processes sharing Redis, and many merchants in one process.

    python -m benchmarks.deployment --quick|--full

tests/test_redis_workers.py and tests/test_many_merchants.py run the same parts at test size.
"""
