"""APIv2: XML bodies signed with the APIv2 key (MD5 or HMAC-SHA256), mutual TLS, and v2 notifications."""
