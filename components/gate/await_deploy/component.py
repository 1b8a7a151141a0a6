"""KFP wrapper of the placeholder deploy step; the work is in
:mod:`components.gate.await_deploy.executor`."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def await_deploy(
    bundle: Input[Model],
    blessing: Input[Artifact],
    record: Output[Artifact],
):
    """Record "blessed, not yet deployed": the place of deploy in the ``dsl.If(blessed)`` branch.

    Deploy is not built yet. This step only runs for a blessed challenger; it checks the blessing
    says so and writes what deploy would act on, so a run shows plainly that nothing was deployed.

    Args:
        bundle: The gate's blessed bundle (model card completed).
        blessing: The gate's blessing JSON.

    Returns:
        record: JSON: status "blessed, not yet deployed", the bundle URI and manifest sha256.
    """
    from components.gate.await_deploy.executor import run

    run(bundle=bundle, blessing=blessing, record=record)
