"""Files: multipart uploads and streamed, digest-checked downloads."""
