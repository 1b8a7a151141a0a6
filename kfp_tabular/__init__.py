"""The ``kfp-tabular`` command: compile the pipelines, run them locally with kfp.local, submit and
schedule them on Kubeflow Pipelines, serve a bundle, check drift (see :mod:`kfp_tabular.cli`)."""
