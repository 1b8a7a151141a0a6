"""drift: watch a deployed bundle for data, prediction and performance drift.

``executor.main`` / ``executor.run`` is the entry (kfp-free); ``cli.main`` runs the same job
outside KFP (the CronJob); ``config.DriftConfig`` declares every parameter; ``analysis`` is the
one chunked pass; ``verdicts`` and ``stats`` are the fast, streaming tests; ``report`` renders
Evidently's report and the summary (``evidently_adapter`` is the one module that imports
Evidently); ``retrain`` submits the retrain run.
"""
