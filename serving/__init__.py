"""The KServe runtime that serves kfp-tabular bundles (a ``kserve.Model`` subclass).

It loads a bundle with :func:`components._shared.bundle.load_bundle` and applies the bundle's
featurizer with the very code training used. The runtime itself arrives with the serving work;
this package holds its place in the layout.
"""
