"""The one place that names the component and serving images.

Every component runs in the component image; its tag is the package version, so a compiled
pipeline always pins the image built from the same code (never ``latest``). Override the registry
for your own builds with ``KFP_TABULAR_REGISTRY`` at compile time, or re-target compiled
pipelines and manifests afterwards (pinned by digest once pushed) with
``kfp-tabular compile --registry ... --digests build/images.json`` (kfp_tabular/compile.py).
"""

import os

from components import __version__

# The registry the repository's compiled pipelines and manifests name.
DEFAULT_REGISTRY = "ghcr.io/kfp-tabular"
# Image names under a registry, by role (images/build.sh builds them with these names).
IMAGE_NAMES = ("components", "serving")


def image_ref(name: str, registry: str = DEFAULT_REGISTRY) -> str:
    """``<registry>/<name>:<package version>``."""
    return f"{registry.rstrip('/')}/{name}:{__version__}"


REGISTRY = os.environ.get("KFP_TABULAR_REGISTRY", DEFAULT_REGISTRY)
COMPONENT_IMAGE = image_ref("components", REGISTRY)
SERVING_IMAGE = image_ref("serving", REGISTRY)
