"""The API server of the benchmark: WeChat Pay's part, in a process of its own.

`python -m benchmarks.performance.server KEYS_DIR` (see processes.py for how it is run).

Like WeChat Pay, it authenticates every request (an RSA verification of the merchant's signature
over the method, target, timestamp, nonce and body received) and signs every answer with a fresh
nonce (an RSA signature, about as much CPU as the client's own). It is a bare aiohttp.web app, not
the emulator, so that what it costs is mostly that cryptography. Running in its own process, its
CPU never counts as the client's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson
from aiohttp import web

from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._auth import AuthError, Merchant, authenticate, sign_answer

from .processes import CPU_PATH, cpu_text, listening_socket, until_stdin_closes
from .workload import NATIVE_PATH, QUERY_TEMPLATE

ORDER = {
    "appid": "wxd678efh567hg6787",
    "mchid": "1900000109",
    "out_trade_no": "",
    "transaction_id": "4200000000000000000000000000",
    "trade_type": "NATIVE",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMC",
    "attach": "自定义数据",
    "success_time": "2018-06-08T10:34:56+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
    "scene_info": {"device_id": "013467007045764"},
    "promotion_detail": [],
}


def api(creds: Credentials) -> web.Application:
    """The two endpoints the benchmark calls, and `GET /cpu`."""
    merchants = {creds.mchid: Merchant(creds.mchid, creds.serial, creds.merchant_key.public_key())}
    serial, key = creds.signing_key(public_key=True)

    async def answer(request: web.Request, payload: dict[str, object]) -> web.Response:
        body = await request.read()
        try:
            authenticate(merchants, request.method, request.raw_path, request.headers, body, time.time())
        except AuthError as exc:
            failure = orjson.dumps({"code": "SIGN_ERROR", "message": str(exc)})
            return web.Response(status=401, body=failure, content_type="application/json")
        reply = orjson.dumps(payload)
        headers = {**sign_answer(key, serial, reply, int(time.time())), "Request-ID": "bench"}
        return web.Response(body=reply, headers=headers, content_type="application/json", charset="utf-8")

    async def query(request: web.Request) -> web.Response:
        return await answer(request, {**ORDER, "out_trade_no": request.match_info["out_trade_no"]})

    async def native(request: web.Request) -> web.Response:
        return await answer(request, {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"})

    async def cpu(request: web.Request) -> web.Response:
        return web.Response(text=cpu_text())

    app = web.Application()
    app.router.add_get("/" + QUERY_TEMPLATE, query)
    app.router.add_post("/" + NATIVE_PATH, native)
    app.router.add_get(CPU_PATH, cpu)
    return app


async def serve(keys_dir: Path) -> None:
    """Serve on 127.0.0.1 until standard input closes."""
    runner = web.AppRunner(api(Credentials.load(keys_dir)), access_log=None)
    await runner.setup()
    await web.SockSite(runner, listening_socket()).start()
    try:
        await until_stdin_closes()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
