"""The one door to the CDK engine: every cdktf, ``constructs`` and provider-binding name kfstack uses.

Constructs, stacks and tests import these names from here (``from kfstack.cdk import Construct,
SecretV1``), never from ``cdktf``, ``constructs`` or ``cdktf_cdktf_provider_*`` directly (an import
test enforces it). Moving to CDK Terrain (``cdktn``, the maintained continuation of the archived
cdktf; see DESIGN.md §7) is then a change to :data:`_SOURCES` and the lock file only.

Names are resolved lazily on first use (PEP 562 ``__getattr__``): importing this module imports
no engine code, and a provider's bindings are imported only when one of its names is used. The
kubernetes bindings are the slow part of a synth (their package defines all 111 submodules; about
3 s and 550 MiB in the jsii node process here, see ``bench/synth_bench.py``).

Raises:
    AttributeError: a name that is not in :data:`_SOURCES` (add it there, with its module).
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES: dict[str, tuple[str, ...]] = {
    "cdktf": (
        "App", "AssetType", "Fn", "ITerraformDependable", "LocalBackend", "PgBackend", "S3Backend",
        "S3BackendEndpointConfig", "TerraformAsset", "TerraformBackend", "TerraformProvider", "TerraformStack",
        "TerraformVariable", "Testing", "Token",
    ),
    "cdktf_cdktf_provider_helm.provider": ("HelmProvider", "HelmProviderKubernetes"),
    "cdktf_cdktf_provider_helm.release": ("Release", "ReleaseSetSensitive"),
    "cdktf_cdktf_provider_kubernetes.config_map_v1": ("ConfigMapV1", "ConfigMapV1Metadata"),
    "cdktf_cdktf_provider_kubernetes.default_service_account_v1": (
        "DefaultServiceAccountV1", "DefaultServiceAccountV1ImagePullSecret", "DefaultServiceAccountV1Metadata",
    ),
    "cdktf_cdktf_provider_kubernetes.deployment_v1": (
        "DeploymentV1", "DeploymentV1Metadata", "DeploymentV1Spec", "DeploymentV1SpecSelector",
        "DeploymentV1SpecTemplate", "DeploymentV1SpecTemplateMetadata", "DeploymentV1SpecTemplateSpec",
        "DeploymentV1SpecTemplateSpecContainer", "DeploymentV1SpecTemplateSpecContainerEnv",
        "DeploymentV1SpecTemplateSpecContainerEnvValueFrom",
        "DeploymentV1SpecTemplateSpecContainerEnvValueFromSecretKeyRef",
        "DeploymentV1SpecTemplateSpecContainerLivenessProbe",
        "DeploymentV1SpecTemplateSpecContainerLivenessProbeGrpc", "DeploymentV1SpecTemplateSpecContainerPort",
        "DeploymentV1SpecTemplateSpecContainerSecurityContext",
        "DeploymentV1SpecTemplateSpecContainerSecurityContextCapabilities",
        "DeploymentV1SpecTemplateSpecContainerSecurityContextSeccompProfile",
        "DeploymentV1SpecTemplateSpecImagePullSecrets",
    ),
    "cdktf_cdktf_provider_kubernetes.namespace_v1": ("NamespaceV1", "NamespaceV1Metadata"),
    "cdktf_cdktf_provider_kubernetes.network_policy_v1": (
        "NetworkPolicyV1", "NetworkPolicyV1Metadata", "NetworkPolicyV1Spec", "NetworkPolicyV1SpecIngress",
        "NetworkPolicyV1SpecIngressFrom", "NetworkPolicyV1SpecIngressFromNamespaceSelector",
        "NetworkPolicyV1SpecIngressFromNamespaceSelectorMatchExpressions",
        "NetworkPolicyV1SpecIngressFromPodSelector", "NetworkPolicyV1SpecIngressPorts",
        "NetworkPolicyV1SpecPodSelector",
    ),
    "cdktf_cdktf_provider_kubernetes.persistent_volume_claim_v1": (
        "PersistentVolumeClaimV1", "PersistentVolumeClaimV1Metadata", "PersistentVolumeClaimV1Spec",
        "PersistentVolumeClaimV1SpecResources",
    ),
    "cdktf_cdktf_provider_kubernetes.priority_class_v1": ("PriorityClassV1", "PriorityClassV1Metadata"),
    "cdktf_cdktf_provider_kubernetes.provider": ("KubernetesProvider",),
    "cdktf_cdktf_provider_kubernetes.secret_v1": ("SecretV1", "SecretV1Metadata"),
    "cdktf_cdktf_provider_kubernetes.service_v1": (
        "ServiceV1", "ServiceV1Metadata", "ServiceV1Spec", "ServiceV1SpecPort",
    ),
    "cdktf_cdktf_provider_random.password": ("Password",),
    "cdktf_cdktf_provider_random.provider": ("RandomProvider",),
    "constructs": ("Construct",),
}
"""Module → the names kfstack takes from it (cdktf 0.21.0, constructs 10, provider bindings
cdktf-cdktf-provider-kubernetes 12.1.1, -helm 12.1.2, -random 12.0.1: Pipfile.lock)."""

_MODULE_OF: dict[str, str] = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"kfstack.cdk has no {name!r}; add it to _SOURCES with the module that defines it")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
