"""The ``kfp-tabular`` command: compile the pipelines and run them locally with kfp.local."""
