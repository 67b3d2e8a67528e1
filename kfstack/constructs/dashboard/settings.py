"""Settings of the Central Dashboard, Profiles + KFAM and Notebooks (importable without cdktf).

Checked against kubeflow/manifests 26.03 (``example/kustomization.yaml``):
``applications/centraldashboard/overlays/oauth2-proxy``, ``applications/profiles/pss``,
``applications/jupyter/notebook-controller/upstream/overlays/kubeflow``,
``applications/jupyter/jupyter-web-app/upstream/overlays/istio`` (all 1.10.0),
``common/kubeflow-roles/base``, ``common/istio/kubeflow-istio-resources/base`` and
``common/user-namespace/base``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.constructs.auth.settings import profile_name_for
from kfstack.model import ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, WiringProblem


class DashboardSettings(ComponentSettings):
    """Kubeflow's multi-user front end: Central Dashboard, Profiles + KFAM, Notebooks.

    Installs, in upstream's order: Kubeflow roles and Istio resources (the
    ``kubeflow-gateway`` Gateway on the ingress gateway, ClusterRoles), Profiles
    + KFAM, the default Profile of the initial user (``components.auth.user_email``),
    the Central Dashboard, then Notebooks when enabled. Everything goes into the
    ``kubeflow`` namespace (``components.cluster_baseline.shared_namespaces``).
    Needs ``components.auth`` and ``components.istio``.

    Example::

        components:
          dashboard:
            notebooks: true
            default_profile_name: team-ml
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("dashboard", kustomize=("centraldashboard",)),
        Installs("profiles", kustomize=("profiles", "kubeflow-roles", "kubeflow-istio-resources")),
        Installs("notebooks", kustomize=("notebook-controller", "jupyter-web-app")),
    )
    """Kubeflow roles and Istio resources are pinned with Profiles (same manifests release)."""
    NEEDS: ClassVar[dict[str, str]] = {
        "auth": "the dashboard and Profiles read users from Istio + Dex",
        "istio": "the dashboard and Profiles read users from Istio + Dex",
    }

    enabled: bool = Field(True, description="Install the Central Dashboard and Profiles + KFAM. Default true.")
    namespace: DnsLabel = Field(
        "kubeflow",
        description="Namespace upstream's manifests install into; must be one of "
        "cluster_baseline.shared_namespaces. Default kubeflow.",
    )
    default_profile: bool = Field(
        True,
        description="Create a Profile (namespace + RBAC) owned by the initial user, as upstream's "
        "common/user-namespace does. Default true.",
    )
    default_profile_name: DnsLabel | None = Field(
        None,
        description="Name of the default Profile and its namespace. Default derived from the user's e-mail "
        "like upstream: user@example.com -> kubeflow-user-example-com.",
    )
    notebooks: bool = Field(
        False,
        description="Install Notebooks (notebook-controller + Jupyter web app 1.10.0). Default false: the "
        "web app's form lists PodDefaults from the admission webhook, which kfstack does not install yet.",
    )

    def uses_shared_namespaces(self) -> dict[KeyPath, str]:
        """Upstream's manifests install into ``namespace``, which the cluster baseline creates."""
        return {("namespace",): self.namespace}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """The default Profile's name (derived from ``auth.user_email`` unless ``default_profile_name``
        is set) must be a DNS label (<= 63 characters)."""
        if not self.default_profile or self.default_profile_name is not None:
            return []
        name = profile_name_for(components.auth.user_email)
        if len(name) <= 63:
            return []
        return [(("auth", "user_email"), f"the default Profile name derived from auth.user_email ({name!r}) is "
                                         "longer than 63 characters; set components.dashboard.default_profile_name")]
