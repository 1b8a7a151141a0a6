"""kfp-tabular pipelines: ``@dsl.pipeline`` wiring only; compiled YAML lives in ``compiled/``."""
