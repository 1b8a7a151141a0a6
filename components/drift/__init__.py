"""drift: watch a deployed bundle for data, prediction and performance drift.

``executor.run`` does the work (kfp-free); ``cli.main`` runs the same job outside KFP (the
CronJob); ``verdicts`` and ``stats`` are the fast, streaming tests; ``evidently_adapter`` is the
one module that imports Evidently.
"""
