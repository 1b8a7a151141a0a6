"""deploy: puts a blessed bundle behind an endpoint (KServe manifests, applied or rendered, or local servers)."""
