"""Generators of the package's data, not shipped with it. From the repository root:

    python -m tools.catalogue [--source PATH] [--check]     # the endpoint catalogue (package data)
    python -m tools.stubs [--check]                         # the typed chain's stubs, from that catalogue
    python -m tools.v2_endpoints [--source PATH] [--check]  # the APIv2 facts the client acts on
    python -m tools.corpus [--source PATH] [--check]        # tests/data/endpoints.jsonl, the doc site's corpus

Inputs default to the project's `shared/` folder beside the checkout (`_generated.shared`).

tests/test_catalogue.py checks that the stubs are current against the catalogue in the package.
"""
