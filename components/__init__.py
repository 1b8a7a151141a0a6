"""kfp-tabular components: KFP v2 components for tabular machine learning.

Each component lives in its own folder (``component.py`` is the KFP wrapper, ``executor.py`` does
the work); kfp-free code shared by executors and serving lives in :mod:`components._shared`.
The KFP components themselves are exported by :mod:`components.kfp` (importing it needs kfp), so
that importing this package stays kfp-free for the serving image.
"""

__version__ = "0.1.0"
