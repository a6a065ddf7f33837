"""From a call to a request: URI templates, chain nodes, and the request builder."""
