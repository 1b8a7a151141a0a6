"""kfp-tabular components: KFP v2 components for tabular machine learning.

Each component lives in its own folder, in one shape: ``config.py`` declares every parameter once,
``executor.py`` does the work (``run(inputs, outputs, config)``), ``component.py`` is the thin KFP
wrapper. kfp-free code shared by executors and serving lives in :mod:`components._shared`. The KFP
components themselves are exported by :mod:`components.catalog` (importing it needs kfp), so that
importing this package stays kfp-free for the serving image.
"""

__version__ = "0.1.0"
