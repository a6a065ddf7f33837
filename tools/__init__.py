"""Generators of the package's data, not shipped with it. From the repository root:

    python -m tools.catalogue [--source PATH] [--check]   # the endpoint catalogue (package data)
    python -m tools.stubs [--check]                       # the typed chain's stubs, from that catalogue

tests/test_catalogue.py checks that the stubs are current against the catalogue in the package.
"""
