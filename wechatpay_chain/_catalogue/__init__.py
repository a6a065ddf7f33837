"""The catalogue of documented WeChat Pay endpoints (package data) and what is built on it.

- `data.py`: the endpoints and their schema trees, read from `endpoints.json` on first use;
- `paths.py`: which documented endpoints a template or a path can stand for;
- `schema.py`: a value checked against a schema tree, naming the first bad field as a path;
- `strict.py`: strict mode, the check a `Client(strict=True)` makes of every call before any I/O.

Nothing here is imported by `import wechatpay_chain`: the client imports `strict` only when
strict mode is on, and the emulator imports the rest on its first schema-only answer.
`endpoints.json` comes from the wechatpay-openapi Swagger files under the MIT License (`NOTICE.md`).
"""
