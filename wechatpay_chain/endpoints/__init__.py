"""The typed chain's names, for type checkers: the request bodies, queries and answers of every documented endpoint.

The stubs beside this file (`__init__.pyi`, generated from the catalogue by `tools/stubs.py`) give
each path of the chain a class, and each documented body, query and answer a `TypedDict`, named
after the template and the method (`V3PayTransactionsNativePostBody`). They exist for type
checkers only: import them under `if TYPE_CHECKING:`. At run time every node is the one dynamic
`Chain`.
"""


def __getattr__(name: str) -> object:
    raise AttributeError(
        f"wechatpay_chain.endpoints.{name} exists for type checkers only: import it under `if TYPE_CHECKING:`"
    )
