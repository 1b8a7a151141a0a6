"""kfp-free code shared by executors and the serving runtime.

Nothing in this package may import ``kfp``: the serving image loads bundles with it, and a
test enforces the rule.
"""
