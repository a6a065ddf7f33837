"""The middleware stack and what runs in it: signing, verification, retries, logging, the transport."""
