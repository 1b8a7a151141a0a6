"""What the compiled YAML tells a Kubeflow cluster, read back from pipelines/compiled/*.yaml.

Caching per task (the README's table), resources and Kubernetes settings (the
``platforms.kubernetes`` document), display names and descriptions for the UI, and the spec
loaded back with kfp's own loader and parsed strictly into the IR protobuf, unknown fields refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from kfp import components
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_tabular.compile import PIPELINES
from pipelines import tasks

ROOT = Path(__file__).resolve().parents[2]
COMPILED = ROOT / "pipelines" / "compiled"


def documents(pipeline: str) -> list[dict[str, Any]]:
    """The PipelineSpec and the PlatformSpec of a committed compiled pipeline."""
    return list(yaml.safe_load_all((COMPILED / f"{pipeline}.yaml").read_text()))


def container_tasks(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(step name, task spec, executor label) of every container task, in every sub-DAG."""
    components_ = spec["components"]

    def walk(dag: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
        for task in dag["tasks"].values():
            component = components_[task["componentRef"]["name"]]
            if "dag" in component:
                yield from walk(component["dag"])
            else:
                name = re.sub(r"-\d+$", "", task["componentRef"]["name"].removeprefix("comp-"))
                yield name, task, component["executorLabel"]

    yield from walk(spec["root"]["dag"])


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_caching_policy_is_compiled_in(pipeline: str) -> None:
    spec = documents(pipeline)[0]
    seen = set()
    for name, task, _ in container_tasks(spec):
        cached, why = tasks.CACHING[name]
        assert task["cachingOptions"].get("enableCache", False) is cached, f"{name}: {why}"
        seen.add(name)
    expected = {
        "train_and_rollout": {
            "validate", "featurize", "train", "compare", "gate", "deploy", "rollout", "shadow"
        },
        "drift_monitor": {"drift"},
    }[pipeline]  # fmt: skip
    assert seen == expected


def test_readme_caching_table_is_the_policy() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- caching:", 1)[1].split("<!-- /caching -->", 1)[0]
    rows = [line.strip("|").split("|") for line in block.splitlines() if line.startswith("| ")]
    table = {cells[0].strip(): (cells[1].strip(), cells[2].strip()) for cells in rows[1:]}
    assert table == {
        name: ("yes" if cached else "no", why) for name, (cached, why) in tasks.CACHING.items()
    }


def test_train_and_rollout_resources_and_kubernetes_settings() -> None:
    spec, platform = documents("train_and_rollout")
    executors = spec["deploymentSpec"]["executors"]
    kubernetes = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, _, label in container_tasks(spec):
        group = tasks.GROUP[name]
        resources = executors[label]["container"]["resources"]
        assert resources == {
            "resourceCpuRequest": f"{{{{$.inputs.parameters['pipelinechannel--{group}_cpu_request']}}}}",
            "resourceCpuLimit": f"{{{{$.inputs.parameters['pipelinechannel--{group}_cpu_limit']}}}}",
            "resourceMemoryRequest": f"{{{{$.inputs.parameters['pipelinechannel--{group}_memory_request']}}}}",
            "resourceMemoryLimit": f"{{{{$.inputs.parameters['pipelinechannel--{group}_memory_limit']}}}}",
            **(
                {
                    "accelerator": {
                        "resourceType": "{{$.inputs.parameters['pipelinechannel--train_accelerator_type']}}",
                        "resourceCount": "{{$.inputs.parameters['pipelinechannel--train_accelerator_limit']}}",
                    }
                }
                if name == "train"
                else {}
            ),
        }, name  # fmt: skip
        # A root task names the pipeline parameter, a task in a sub-DAG its channel.
        config = yaml.safe_load(yaml.safe_dump(kubernetes[label]).replace("pipelinechannel--", ""))
        # Every step: the optional credentials Secret as a volume and its project as env.
        (volume, *others) = config["secretAsVolume"]
        assert volume == {
            "mountPath": tasks.CREDENTIALS_DIR,
            "optional": True,
            "secretNameParameter": {"componentInputParameter": "credentials_secret"},
        }  # fmt: skip
        assert config["secretAsEnv"] == [
            {
                "keyToEnv": [{"envVar": "GOOGLE_CLOUD_PROJECT", "secretKey": tasks.PROJECT_KEY}],
                "optional": True,
                "secretNameParameter": {"componentInputParameter": "credentials_secret"},
            }
        ]  # fmt: skip
        env = {e["name"]: e["value"] for e in executors[label]["container"]["env"]}
        assert env["CLOUDSDK_CONFIG"] == tasks.CREDENTIALS_DIR
        if name == "rollout":
            assert others == [
                {
                    "mountPath": tasks.PROMETHEUS_TOKEN_DIR,
                    "optional": True,
                    "secretNameParameter": {"componentInputParameter": "prometheus_token_secret"},
                }
            ]  # fmt: skip
        else:
            assert others == [], name
        if name == "train":
            assert config["nodeSelector"] == {
                "nodeSelectorJson": {"componentInputParameter": "train_node_selector"}
            }  # fmt: skip
            assert config["tolerations"] == [
                {"tolerationJson": {"componentInputParameter": "train_tolerations"}}
            ]  # fmt: skip
        else:
            assert "nodeSelector" not in config and "tolerations" not in config, name


def test_resource_and_secret_defaults_are_the_table_in_pipelines_tasks() -> None:
    parameters = documents("train_and_rollout")[0]["root"]["inputDefinitions"]["parameters"]
    for group, resources in tasks.RESOURCES.items():
        for field in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
            declared = parameters[f"{group}_{field}"]
            assert declared["parameterType"] == "STRING"
            assert declared["defaultValue"] == getattr(resources, field)
    # The KFP driver reads these with GetStringValue: numbers would resolve to "".
    assert parameters["train_accelerator_limit"] == {
        **parameters["train_accelerator_limit"], "parameterType": "STRING", "defaultValue": "1"
    }  # fmt: skip
    assert parameters["train_accelerator_type"]["defaultValue"] == ""
    assert parameters["train_node_selector"]["defaultValue"] == {}
    assert parameters["train_tolerations"]["defaultValue"] == []
    assert parameters["credentials_secret"]["defaultValue"] == tasks.CREDENTIALS_SECRET
    assert parameters["prometheus_token_secret"]["defaultValue"] == tasks.PROMETHEUS_SECRET
    drift = documents("drift_monitor")[0]["root"]["inputDefinitions"]["parameters"]
    assert drift["memory_limit"]["defaultValue"] == tasks.RESOURCES["data"].memory_limit


def test_shadow_runs_after_deploy_only_for_a_serving_shadow() -> None:
    spec = documents("train_and_rollout")[0]
    components_ = spec["components"]
    blessed = components_[spec["root"]["dag"]["tasks"]["condition-2"]["componentRef"]["name"]]
    conditions = []
    dag = blessed["dag"]
    while "shadow" not in dag["tasks"]:
        (condition,) = [t for t in dag["tasks"].values() if "triggerPolicy" in t]
        conditions.append(condition["triggerPolicy"]["condition"])
        dag = components_[condition["componentRef"]["name"]]["dag"]
    assert conditions == [
        "inputs.parameter_values['pipelinechannel--deploy_strategy'] == 'shadow'",
        "inputs.parameter_values['pipelinechannel--champion_uri'] != ''",
        "inputs.parameter_values['pipelinechannel--deploy_target'] != 'render'",
    ]
    shadow = dag["tasks"]["shadow"]
    assert shadow["inputs"]["artifacts"]["deployment"]["componentInputArtifact"]
    params = shadow["inputs"]["parameters"]
    assert params["champion_uri"] == {
        "componentInputParameter": "pipelinechannel--shadow_champion_log_uri"
    }


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_every_reference_resolves_in_its_own_dag(pipeline: str) -> None:
    """A task may use only its DAG's declared inputs (a KFP 2.17 resource setter inside a
    ParallelFor left the loop without the parameter until registered; the backend then fails)."""
    spec = documents(pipeline)[0]
    components_ = spec["components"]

    def check(dag: dict[str, Any], declared: set[str], where: str) -> list[str]:
        problems = []
        for name, task in dag["tasks"].items():
            for key, value in task.get("inputs", {}).get("parameters", {}).items():
                source = value.get("componentInputParameter")
                if source and source not in declared:
                    problems.append(f"{where}/{name}.{key} <- {source}")
                constant = value.get("runtimeValue", {}).get("constant")
                for used in re.findall(r"inputs\.parameters\['([^']+)'\]", str(constant)):
                    if used not in task["inputs"]["parameters"]:
                        problems.append(f"{where}/{name}.{key} uses {used}")
            inner = components_[task["componentRef"]["name"]]
            if "dag" in inner:
                inputs = inner.get("inputDefinitions", {})
                names = set(inputs.get("parameters", {})) | set(inputs.get("artifacts", {}))
                problems += check(inner["dag"], names, task["componentRef"]["name"])
        return problems

    root = spec["root"]
    assert check(root["dag"], set(root["inputDefinitions"]["parameters"]), "root") == []


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_loaded_by_kfp_and_parsed_strictly_into_the_ir(pipeline: str) -> None:
    path = COMPILED / f"{pipeline}.yaml"
    loaded = components.load_component_from_file(str(path))
    assert loaded.name == pipeline.replace("_", "-")
    spec, platform = documents(pipeline)
    # ParseDict refuses an unknown field (ignore_unknown_fields=False), as the backend would.
    parsed = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    assert json_format.MessageToDict(parsed) == spec
    json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
    for label, config in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items():
        message = kubernetes_executor_config_pb2.KubernetesExecutorConfig()
        json_format.ParseDict(config, message)
        assert json_format.MessageToDict(message) == config, label
    with pytest.raises(json_format.ParseError, match="no field named"):
        json_format.ParseDict({**spec, "pipelineInfoo": {}}, pipeline_spec_pb2.PipelineSpec())


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_ui_names_and_descriptions(pipeline: str) -> None:
    spec = documents(pipeline)[0]
    assert len(spec["pipelineInfo"]["description"]) > 40
    undescribed = [
        name
        for name, declared in spec["root"]["inputDefinitions"]["parameters"].items()
        if not declared.get("description")
    ]
    assert undescribed == []
    for name, task, _ in container_tasks(spec):
        assert task["taskInfo"]["name"] == tasks.DISPLAY_NAMES[name], name
