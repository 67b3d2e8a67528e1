"""Cluster baseline construct: shared namespaces, PriorityClasses, the ClusterHandle.

Upstream order (Kubeflow 26.03 README): namespaces and cluster-wide objects
first; every other component depends on ``ClusterBaseline.handle.ready``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from kfstack.cdk import (
    Construct, PriorityClassV1, PriorityClassV1Metadata, TerraformProvider, TerraformVariable,
)

from kfstack.constructs.cluster_baseline.node_pools import NodePool
from kfstack.constructs.cluster_baseline.settings import KUBEFLOW_NAMESPACE, ClusterBaselineSettings, RegistryMirror
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.namespace import MANAGED_BY, Namespace
from kfstack.constructs.core.refs import ClusterHandle, GpuPoolRef, ImageMirror
from kfstack.sources.charts import ChartSource

(KUBEFLOW_NAMESPACE_BASE,) = ClusterBaselineSettings.INSTALLS[0].kustomize
"""sources.lock kustomize entry of upstream's ``kubeflow`` namespace policies (common/kubeflow-namespace/base/kubeflow)."""
PRIORITY_CLASS_PREFIX = "kfstack-"
PULL_SECRET_VARIABLE = "registry_dockerconfigjson"
"""Terraform variable holding the pull secret's dockerconfigjson (``TF_VAR_registry_dockerconfigjson``)."""
# role -> (construct id, description). Construct ids are a state contract: never rename.
_PRIORITY_CLASSES = {
    "platform": ("PlatformPriorityClass", "kfstack platform services: controllers, gateways, databases."),
    "serving": ("ServingPriorityClass", "Model serving (KServe InferenceServices)."),
    "training": ("TrainingPriorityClass", "Training jobs; preemptible by serving and platform."),
}


def gpu_pool_refs(node_pools: Sequence[NodePool]) -> tuple[GpuPoolRef, ...]:
    """A :class:`GpuPoolRef` for every pool with GPUs, in environment order; batch work on them runs at
    the baseline's ``kfstack-training`` PriorityClass."""
    training = f"{PRIORITY_CLASS_PREFIX}training"
    return tuple(GpuPoolRef(pool, priority_class_name=training) for pool in node_pools if pool.gpu is not None)


class ClusterBaseline(Construct):
    """Shared namespaces and PriorityClasses; builds the :class:`ClusterHandle`.

    Example::

        baseline = ClusterBaseline(stack, "ClusterBaseline", kubernetes=k8s, helm=helm,
                                   node_pools=env.node_pools, storage_class="ceph-block",
                                   registry=env.registry, settings=env.components.cluster_baseline)
        CertManager(stack, "CertManager", cluster=baseline.handle, ...)

    With ``settings.kubeflow_network_policies`` the shared namespace ``kubeflow`` also gets
    upstream's NetworkPolicies (kustomize base ``kubeflow-namespace`` from ``source``, the
    Kubeflow line's sources: ``release.kubeflow``), installed before any application (they are
    part of ``handle.ready``), as upstream's example orders NetworkPolicy right after Namespace.

    Attributes:
        handle: what every other component receives.
        priority_classes: the ``kubernetes_priority_class_v1`` resources by role.
        network_policies: the releases of upstream's kubeflow namespace policies, or None.

    Raises:
        SourceError: the ``kubeflow-namespace`` base is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, kubernetes: TerraformProvider, helm: TerraformProvider,
                 node_pools: Sequence[NodePool], storage_class: str, registry: RegistryMirror | None,
                 settings: ClusterBaselineSettings, source: ChartSource | None = None) -> None:
        super().__init__(scope, id_)
        self.priority_classes: dict[str, PriorityClassV1] = {}
        for role, value in settings.priority_classes.model_dump().items():
            construct_id, description = _PRIORITY_CLASSES[role]
            self.priority_classes[role] = PriorityClassV1(
                self, construct_id,
                provider=kubernetes,
                metadata=PriorityClassV1Metadata(name=f"{PRIORITY_CLASS_PREFIX}{role}", labels=dict(MANAGED_BY)),
                value=value,
                global_default=False,
                description=description,
            )
        # The registry's pull secret: its content comes from the site at plan/apply time
        # (TF_VAR_registry_dockerconfigjson), never from an environment file or the JSON.
        mirror = None
        if registry is not None:
            config = None
            if registry.pull_secret:
                variable = TerraformVariable(
                    self, "RegistryDockerConfigJson", type="string", sensitive=True, nullable=False,
                    description=(f"Content (JSON) of a kubernetes.io/dockerconfigjson Secret for {registry.host}; "
                                 f"kfstack creates Secret {registry.pull_secret} from it in every namespace it "
                                 f"creates. Set TF_VAR_{PULL_SECRET_VARIABLE}, e.g. from the site's vault."))
                variable.override_logical_id(PULL_SECRET_VARIABLE)
                config = variable.string_value
            mirror = ImageMirror(registry.host, registry.pull_secret, config)
        # Shared namespaces are a user-given list: the id derives from the name (stable
        # when the list is reordered), e.g. "kubeflow" -> "Namespace-kubeflow".
        namespaces = {
            ns.name: Namespace(self, f"Namespace-{ns.name}",
                               cluster_provider=kubernetes, name=ns.name, pod_security=ns.pod_security,
                               labels=ns.labels, mirror=mirror)
            for ns in settings.shared_namespaces
        }
        ready = [*self.priority_classes.values(), *(r for ns in namespaces.values() for r in ns.ref.ready)]
        handle = ClusterHandle(
            kubernetes=kubernetes,
            helm=helm,
            ready=tuple(ready),
            priority_classes={role: f"{PRIORITY_CLASS_PREFIX}{role}" for role in self.priority_classes},
            gpu_pools=gpu_pool_refs(node_pools),
            storage_class=storage_class,
            mirror=mirror,
            shared_namespaces={name: ns.ref for name, ns in namespaces.items()},
        )
        self.network_policies: KustomizeReleases | None = None
        if settings.kubeflow_network_policies:
            assert source is not None, "the stack passes the source of ClusterBaselineSettings.installs()"
            self.network_policies = KustomizeReleases(
                self, "KubeflowNetworkPolicies", cluster=handle, base=KUBEFLOW_NAMESPACE_BASE,
                charts=source.kustomize(KUBEFLOW_NAMESPACE_BASE), namespace=namespaces[KUBEFLOW_NAMESPACE].ref,
                timeout_s=settings.install_timeout_s)
            handle = replace(handle, ready=(*handle.ready, self.network_policies.last))
        self.handle = handle
