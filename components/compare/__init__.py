"""compare: rank the candidate bundles, and the serving champion, on the same held-out rows."""
