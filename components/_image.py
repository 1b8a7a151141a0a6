"""The one place that names the component image.

Every component runs in this image; its tag is the package version, so a compiled pipeline
always pins the image built from the same code (never ``latest``). Override the registry for
your own builds with ``KFP_TABULAR_REGISTRY`` at compile time.
"""

import os

from components import __version__

REGISTRY = os.environ.get("KFP_TABULAR_REGISTRY", "ghcr.io/kfp-tabular")
COMPONENT_IMAGE = f"{REGISTRY}/components:{__version__}"
SERVING_IMAGE = f"{REGISTRY}/serving:{__version__}"
