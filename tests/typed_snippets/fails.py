"""What the typed chain refuses: a line commented `expect[code]: text` must get an error of that code and text."""

from __future__ import annotations

from wechatpay_chain import Client

ORDER = {"appid": "wx1", "mchid": "1900000109"}


async def slips(client: Client) -> None:
    _ = client.v3.pay.transaction.native  # expect[attr-defined]: "v3_pay" has no attribute "transaction"
    _ = client.v4  # expect[attr-defined]: "Client" has no attribute "v4"
    _ = client.v3.profitsharing.receivers.delete  # expect[attr-defined]: no attribute "delete"; maybe "delete_"?
    await client.v3.pay.transactions.native.get()  # expect[attr-defined]: "v3_pay_transactions_native" has no attribute


async def placeholders(client: Client) -> None:
    by_id = client.v3.pay.transactions.id._transaction_id_
    await by_id.get(query={"mchid": "1"})  # expect[call-arg]: Missing named argument "transaction_id"
    await by_id.get(transaction_id=1, no=2, query={"mchid": "1"})  # expect[call-arg]: Unexpected keyword argument "no"
    await by_id.get(transaction_id="1")  # expect[call-arg]: Missing named argument "query"


async def bodies(client: Client) -> None:
    native = client.v3.pay.transactions.native
    await native.post(json={"appid": "wx1"})  # expect[typeddict-item]: Missing keys ("amount", "description"
    await native.post(
        json={  # expect[typeddict-unknown-key]: Extra key "amont" for TypedDict "V3PayTransactionsNativePostBody"
            "appid": "wx1",
            "mchid": "1",
            "description": "d",
            "out_trade_no": "o",
            "notify_url": "https://example.com/n",
            "amount": {"total": "100"},  # expect[typeddict-item]: TypedDict item "total" has type "int"
            "amont": 1,
            "limit_pay": ["no_cash"],  # expect[list-item]: List item 0 has incompatible type "Literal['no_cash']"
        },
    )
    await native.post(json=ORDER)  # expect[arg-type]: type "dict[str, str]"; expected "V3PayTransactionsNativePostBody"


async def answers(client: Client) -> None:
    answer = await client.v3.hirePowerBank.userQualifications._openid_.get(openid="o1")
    text: str = answer.json()["qualified_user"]  # expect[assignment]: (expression has type "bool", variable has type
    print(text, answer.json()["qualified"])  # expect[typeddict-item]: has no key "qualified"


async def apiv2(client: Client) -> None:
    micropay = client.v2.pay.micropay
    await micropay.post(xml={"mch_id": "1"})  # expect[typeddict-item]: Missing keys ("appid", "auth_code", "body"
    await micropay.post(
        xml={  # expect[typeddict-unknown-key]: Extra key "sign" for TypedDict "V2PayMicropayPostXml"
            "appid": "wx1",
            "mch_id": "1",
            "body": "b",
            "out_trade_no": "o",
            "spbill_create_ip": "1.1.1.1",
            "auth_code": "134567890123456789",
            "total_fee": "888",  # expect[typeddict-item]: TypedDict item "total_fee" has type "int"
            "sign": "C380BEC2BFD727A4B6845133519F3AD6",  # the client signs
        }
    )
    order = {"appid": "wx1", "mch_id": "1", "out_trade_no": "o"}
    await client.v2.pay.orderquery.post(xml=order)  # expect[arg-type]: expected "V2PayOrderqueryPostXml"
    await client.v2.pay.orderquery.post(json={"mch_id": "1"})  # expect[call-arg]: Unexpected keyword argument "json"
    close = client.v2.pay.closeorder
    await close.post(xml={"appid": "wx1", "mch_id": "1", "out_trade_no": "o"}, secure=1)  # expect[call-arg]: "secure"
    await client.v2.pay.orderquery.get()  # expect[attr-defined]: "v2_pay_orderquery" has no attribute "get"
