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

from kfstack.model import ComponentSettings, DnsLabel


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

    KUSTOMIZE: ClassVar[tuple[str, ...]] = (
        "kubeflow-roles", "kubeflow-istio-resources", "profiles", "centraldashboard",
        "notebook-controller", "jupyter-web-app",
    )

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
