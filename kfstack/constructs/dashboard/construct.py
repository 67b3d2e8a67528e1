"""Dashboard construct: Kubeflow roles and Istio resources → Profiles + KFAM → default Profile →
Central Dashboard → Notebooks (optional), behind Istio's ``kubeflow-gateway`` and auth's authorizer.

Sources (kustomize-only upstream; kubeflow/manifests 26.03, pinned in sources.lock; order as
in its ``example/kustomization.yaml`` and README):

- ``kubeflow-roles`` (``common/kubeflow-roles/base``): aggregated ClusterRoles
  ``kubeflow-admin``/``-edit``/``-view`` that Profiles bind owners and contributors to.
- ``kubeflow-istio-resources`` (``common/istio/kubeflow-istio-resources/base``): ClusterRoles
  ``kubeflow-istio-admin``/``-edit``/``-view``. Its Gateway ``kubeflow/kubeflow-gateway`` is
  excluded: the Istio construct creates it and hands it over as ``ingress`` (a
  :class:`~kfstack.constructs.core.refs.GatewayRef`), which Profiles and the dashboard's
  VirtualServices wait for.
- ``profiles`` 1.10.0 (``applications/profiles/pss``): CRD ``profiles.kubeflow.org``, the
  profile controller and KFAM (``profiles-kfam``), trusting header ``kubeflow-userid``.
- ``centraldashboard`` 1.10.0 (``applications/centraldashboard/overlays/oauth2-proxy``:
  logout through ``/oauth2/sign_out``).
- ``notebook-controller`` and ``jupyter-web-app`` 1.10.0 (when ``notebooks``).

Everything installs into the shared ``kubeflow`` namespace. The default Profile (upstream's
``common/user-namespace``) is a custom resource: it goes through this project's
``raw-manifests`` chart after the Profiles release, never as a ``kubernetes_manifest``.
"""

from __future__ import annotations

from typing import Any, Sequence

from kfstack.cdk import Construct, ITerraformDependable

from kfstack.constructs.auth.settings import profile_name_for
from kfstack.constructs.core import ClusterHandle, HelmChart
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import AuthorizerRef, GatewayRef, NamespaceRef, UserRef
from kfstack.constructs.dashboard.settings import DashboardSettings
from kfstack.sources.charts import ChartSource

PROFILE_API_VERSION = "kubeflow.org/v1"
"""Storage version of ``profiles.kubeflow.org`` in Profiles 1.10.0 (v1beta1 is served too)."""

def profile_manifest(name: str, owner_email: str) -> dict[str, Any]:
    """A Profile owned by user ``owner_email`` (upstream ``common/user-namespace/base``)."""
    return {
        "apiVersion": PROFILE_API_VERSION,
        "kind": "Profile",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": {"owner": {"kind": "User", "name": owner_email}},
    }


class Dashboard(Construct):
    """Central Dashboard, Profiles + KFAM and (optionally) Notebooks, multi-user behind auth.

    Example::

        dashboard, profiles, notebooks = DashboardSettings.INSTALLS
        dash = Dashboard(stack, "Dashboard", cluster=baseline.handle,
                         dashboard_source=ChartSource(resolver, "1.10.0", dashboard),
                         profiles_source=ChartSource(resolver, "1.10.0", profiles),
                         notebooks_source=ChartSource(resolver, "1.10.0", notebooks),
                         settings=DashboardSettings(), namespace=baseline.handle.shared_namespaces["kubeflow"],
                         user=auth.user, authorizer=auth.authorizer, ingress=istio.ingress)

    Args:
        dashboard_source: app version of ``centraldashboard``.
        profiles_source: app version of ``profiles``, ``kubeflow-roles`` and
            ``kubeflow-istio-resources`` (pinned together with Profiles).
        notebooks_source: app version of ``notebook-controller`` and ``jupyter-web-app``.
        namespace: the cluster baseline's shared namespace ``settings.namespace`` (validation:
            ``DashboardSettings.uses_shared_namespaces``).
        user: the initial user; owner of the default Profile.
        authorizer: auth's external authorizer; everything here installs once it serves (upstream
            order: auth first), since the dashboard and KFAM trust the ``kubeflow-userid`` header
            it guards.
        ingress: Istio's ``kubeflow/kubeflow-gateway``, which Profiles' and the dashboard's
            VirtualServices bind to.
        depends_on: anything else to install first. Default none.

    Attributes:
        roles, istio_resources, profiles, centraldashboard: :class:`KustomizeReleases`.
        default_profile: the raw-manifests release of the default Profile, or None.
        notebook_controller, jupyter_web_app: :class:`KustomizeReleases`, or None.
        profile_name: name of the default Profile (None when off).
        ready: the dashboard's last release.

    Raises:
        SourceError: a base is not pinned, not vendored, or its exclude list is stale.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, dashboard_source: ChartSource,
                 profiles_source: ChartSource, notebooks_source: ChartSource, settings: DashboardSettings,
                 namespace: NamespaceRef, user: UserRef, authorizer: AuthorizerRef, ingress: GatewayRef,
                 depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        ns = namespace
        timeout = settings.install_timeout_s

        def kustomize(id_: str, source: ChartSource, base: str, after: Sequence[ITerraformDependable]):
            return KustomizeReleases(self, id_, cluster=cluster, base=base, charts=source.kustomize(base),
                                     namespace=ns, timeout_s=timeout, depends_on=after)

        def raw(id_: str, name: str, manifests: list[dict[str, Any]], after: Sequence[ITerraformDependable]):
            return HelmChart(self, id_, cluster=cluster, chart=dashboard_source.project_chart("raw-manifests"),
                             release_name=name, namespace=ns, values={"manifests": manifests},
                             timeout_s=timeout, depends_on=after)

        self.roles = kustomize("Roles", profiles_source, "kubeflow-roles", [*depends_on, *authorizer.ready])
        self.istio_resources = kustomize("IstioResources", profiles_source, "kubeflow-istio-resources",
                                         [self.roles.last])
        self.profiles = kustomize("Profiles", profiles_source, "profiles",
                                  [self.istio_resources.last, *ingress.ready, *user.ready])
        self.profile_name: str | None = None
        self.default_profile: HelmChart | None = None
        if settings.default_profile:
            self.profile_name = settings.default_profile_name or profile_name_for(user.email)
            self.default_profile = raw("DefaultProfile", "default-profile",
                                       [profile_manifest(self.profile_name, user.email)], [self.profiles.last])
        self.centraldashboard = kustomize("CentralDashboard", dashboard_source, "centraldashboard",
                                          [self.profiles.last])
        self.ready: tuple[ITerraformDependable, ...] = (self.centraldashboard.last,)
        self.notebook_controller: KustomizeReleases | None = None
        self.jupyter_web_app: KustomizeReleases | None = None
        if settings.notebooks:
            self.notebook_controller = kustomize("NotebookController", notebooks_source, "notebook-controller",
                                                 [self.centraldashboard.last])
            self.jupyter_web_app = kustomize("JupyterWebApp", notebooks_source, "jupyter-web-app",
                                             [self.notebook_controller.last])
            self.ready = (self.centraldashboard.last, self.jupyter_web_app.last)
