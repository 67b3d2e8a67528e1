"""PlatformStack: composes the enabled components of one environment.

Install order (Kubeflow 26.03 README and its test scripts), expressed as
``depends_on`` between releases so a first apply needs no retries:
cluster baseline → cert-manager (+ ClusterIssuer) → Istio (base → cni →
istiod → gateways → Kubeflow's Gateway) → auth (Dex → oauth2-proxy) → Pipelines,
Katib, Profiles + KFAM → Central Dashboard; cluster baseline → Ceph (rook-ceph →
ceph-csi-drivers → rook-ceph-cluster) → data services (through ``storage_class.ready``);
the GPU Operator depends on the baseline only, Training's GPU runtimes on it.
Later components slot in after these.

Each dependency is a ref exported by the component that creates the object: a consumer
never names an object another component may not create.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from kfstack.cdk import (
    Construct, HelmProvider, HelmProviderKubernetes, KubernetesProvider, RandomProvider, TerraformStack,
)

from kfstack.config.environment import EnvironmentConfig
from kfstack.config.errors import ConfigError, Problem
from kfstack.constructs.auth.construct import Auth
from kfstack.constructs.ceph.construct import Ceph
from kfstack.constructs.cert_manager.construct import CertManager
from kfstack.constructs.cluster_baseline.construct import ClusterBaseline
from kfstack.constructs.core.refs import IssuerRef, StorageClassRef
from kfstack.constructs.dashboard.construct import Dashboard
from kfstack.constructs.gpu_operator.construct import GpuOperator
from kfstack.constructs.istio.construct import Istio
from kfstack.constructs.katib.construct import Katib
from kfstack.constructs.knative.construct import Knative
from kfstack.constructs.kserve.construct import KServe
from kfstack.constructs.mysql.construct import MySql
from kfstack.constructs.object_store.construct import ObjectStore
from kfstack.constructs.pipelines.construct import Pipelines
from kfstack.constructs.training.construct import Training
from kfstack.model import KUBEFLOW_LINE, ComponentSettings
from kfstack.sources.charts import ChartResolver, ChartSource
from kfstack.sources.lock import SourcesLock
from kfstack.stacks.backend import add_backend

MOVED_GATEWAY = "helm_release.Dashboard_Gateway_9B355024"
"""Terraform address of ``kubeflow-gateway`` when the Dashboard construct created it (before issue 14);
the Istio construct's release takes its state over (a ``moved`` block), so an existing Gateway is
upgraded in place, never destroyed and recreated."""

T = TypeVar("T")

STACK_DEPTH = PurePosixPath("cdktf.out/stacks/x")
"""Terraform runs in ``cdktf.out/stacks/<env>``; project-relative paths are rebased from there."""


@dataclass(frozen=True)
class ProjectPaths:
    """Absolute project folders the stack reads at synth time (never written into the JSON)."""

    root: Path

    @property
    def charts(self) -> Path:
        """This project's own charts (``charts/``)."""
        return self.root / "charts"


def from_stack_dir(project_relative: str) -> str:
    """A project-relative path as seen from ``cdktf.out/stacks/<env>`` (where Terraform runs)."""
    up = "/".join(".." for _ in STACK_DEPTH.parts)
    return f"{up}/{project_relative}"


def _given(component: T | None) -> T:
    """A component the environment's requirements guarantee (checked first in :class:`PlatformStack`)."""
    assert component is not None, "Components.wiring_problems() guarantees this component"
    return component


class PlatformStack(TerraformStack):
    """The Terraform stack of one environment, named exactly like it (``cdktf deploy prod``).

    Every component is an attribute that is None when the environment does not enable it
    (``self.istio``, ``self.mysql``, ...). The stack first refuses an environment whose
    components' requirements do not hold (:meth:`Components.wiring_problems`, which the loader
    reports with file and line), so a component another one needs is always there; each
    component's chart sources come from its declarations (:meth:`ComponentSettings.installs`).

    Args:
        scope: the cdktf App.
        env: validated environment.
        lock: parsed sources.lock.
        paths: project folders (charts, vendor cache).

    Raises:
        ConfigError: a component's requirements do not hold (an environment not loaded through
            :func:`kfstack.config.load_environments`); file is ``environment '<name>'``.
        SourceError: a chart is not pinned, or missing from the vendor cache.
    """

    def __init__(self, scope: Construct, env: EnvironmentConfig, *, lock: SourcesLock, paths: ProjectPaths) -> None:
        c = env.components
        problems = c.wiring_problems()
        if problems:  # before the stack joins the app: nothing half-built is left behind
            raise ConfigError([Problem(f"environment {env.name!r}", ("components", *loc), message)
                               for loc, message in problems])
        super().__init__(scope, env.name)
        self.env = env
        add_backend(self, env, from_stack_dir=from_stack_dir)
        kubernetes = KubernetesProvider(self, "Kubernetes", config_path=env.cluster.kubeconfig,
                                        config_context=env.cluster.context)
        helm = HelmProvider(self, "Helm", kubernetes=HelmProviderKubernetes(
            config_path=env.cluster.kubeconfig, config_context=env.cluster.context))
        # Generated credentials (object store keys, MySQL passwords): values live in state only.
        RandomProvider(self, "Random")
        resolver = ChartResolver(lock, mode=env.sources.mode.value, mirror_url=env.sources.mirror_url,
                                 vendor_dir=paths.root / env.sources.vendor_dir, project_charts=paths.charts)

        def sources(settings: ComponentSettings) -> dict[str, ChartSource]:
            """The component's chart sources by release.versions key, from its active declarations."""
            return {i.key: ChartSource(resolver, env.release.version_of(i.key), i) for i in settings.installs()}

        def source(settings: ComponentSettings) -> ChartSource:
            """The chart source of a component with one active declaration."""
            (only,) = sources(settings).values()
            return only

        self.ceph: Ceph | None = None
        self.cert_manager: CertManager | None = None
        self.istio: Istio | None = None
        self.gpu_operator: GpuOperator | None = None
        self.object_store: ObjectStore | None = None
        self.mysql: MySql | None = None
        self.pipelines: Pipelines | None = None
        self.katib: Katib | None = None
        self.knative: Knative | None = None
        self.kserve: KServe | None = None
        self.training: Training | None = None
        self.auth: Auth | None = None
        self.dashboard: Dashboard | None = None

        baseline = ClusterBaseline(self, "ClusterBaseline", kubernetes=kubernetes, helm=helm,
                                   node_pools=env.node_pools, storage_class=env.storage.default_class,
                                   registry=env.registry, settings=c.cluster_baseline,
                                   source=sources(c.cluster_baseline).get(KUBEFLOW_LINE))
        cluster = baseline.handle
        # Storage: Rook operator -> Ceph-CSI drivers -> CephCluster. Data services put
        # self.storage_class.ready in depends_on: the Ceph cluster release, or the
        # baseline when the cluster already has the StorageClass (dev: local-path).
        self.storage_class = StorageClassRef(name=env.storage.default_class, ready=tuple(cluster.ready))
        if c.ceph.enabled:
            self.ceph = Ceph(self, "Ceph", cluster=cluster, source=source(c.ceph), settings=c.ceph)
            self.storage_class = self.ceph.storage_class
        issuer: IssuerRef | None = None
        if c.cert_manager.enabled:
            self.cert_manager = CertManager(self, "CertManager", cluster=cluster, source=source(c.cert_manager),
                                            settings=c.cert_manager)
            issuer = self.cert_manager.issuer
        after = tuple(issuer.ready) if issuer else ()
        if c.istio.enabled:
            # With auth, istiod's mesh config names oauth2-proxy as the ext_authz provider: a pure value
            # of auth's settings, since istiod installs before auth (Auth.authorizer.ready is for what
            # needs it serving).
            self.istio = Istio(self, "Istio", cluster=cluster, source=source(c.istio),
                               settings=c.istio, depends_on=after,
                               ext_authz=c.auth.authorizer if c.auth.enabled else None, issuer=issuer,
                               # InferenceService URLs <name>-<namespace>.<domain> share the HTTPS gateway.
                               extra_hosts=c.kserve.gateway_hosts if c.kserve.enabled else ())
            self.istio.gateway.resource.move_from_id(MOVED_GATEWAY)
        istio_ready = tuple(self.istio.ready) if self.istio else ()
        # Multi-user front door (Kubeflow 26.03 README order): Istio → auth (Dex → oauth2-proxy)
        # → Profiles + KFAM → Central Dashboard (→ Notebooks); auth NEEDS Istio, the dashboard both.
        authorizer_ready: tuple = ()
        if c.auth.enabled:
            srcs, istio = sources(c.auth), _given(self.istio)
            self.auth = Auth(self, "Auth", cluster=cluster, dex_source=srcs["dex"],
                             oauth2_proxy_source=srcs["oauth2_proxy"], settings=c.auth,
                             depends_on=istio.ready, secure_cookies=istio.tls is not None)
            authorizer_ready = tuple(self.auth.authorizer.ready)
        # GPU Operator: independent, depends on the baseline only (upstream order: after Knative).
        if c.gpu_operator.enabled:
            self.gpu_operator = GpuOperator(self, "GpuOperator", cluster=cluster, source=source(c.gpu_operator),
                                            settings=c.gpu_operator)
        # Data services: MySQL and the object store, on the environment's StorageClass. Their
        # clients (network policies) are the namespaces of the components that need them, and for
        # the object store the profile namespaces where pipeline runs and InferenceServices read
        # and write artifacts.
        data_after = tuple(self.storage_class.ready)
        if c.object_store.enabled:
            self.object_store = ObjectStore(self, "ObjectStore", cluster=cluster, source=source(c.object_store),
                                            settings=c.object_store,
                                            ceph=self.ceph.cluster_ref if self.ceph else None, depends_on=data_after,
                                            clients=c.namespaces_needing("object_store"),
                                            profile_clients=c.pipelines.enabled or c.kserve.enabled)
        if c.mysql.enabled:
            self.mysql = MySql(self, "MySql", cluster=cluster, source=source(c.mysql), settings=c.mysql,
                               depends_on=data_after, clients=c.namespaces_needing("mysql"))
        # Pipelines and Katib (kustomize-only upstream) into the shared namespace, after Istio's
        # gateways, cert-manager's issuer, the data services they are wired to (their NEEDS) and, with
        # auth, the authorizer: their UIs behind kubeflow-gateway trust the kubeflow-userid header, so
        # they are routed only once requests are checked. Namespaces and MySQL users come as refs:
        # their requirements were checked above.
        apps_after = (*istio_ready, *after, *authorizer_ready)
        if c.pipelines.enabled:
            database = _given(self.mysql).endpoint
            self.pipelines = Pipelines(self, "Pipelines", cluster=cluster, source=source(c.pipelines),
                                       settings=c.pipelines, namespace=cluster.shared_namespaces[c.pipelines.namespace],
                                       database=database, user=database.users[c.pipelines.database_user],
                                       artifacts=_given(self.object_store).endpoint, depends_on=apps_after)
        if c.katib.enabled:
            database = _given(self.mysql).endpoint
            self.katib = Katib(self, "Katib", cluster=cluster, source=source(c.katib), settings=c.katib,
                               namespace=cluster.shared_namespaces[c.katib.namespace], database=database,
                               user=database.users[c.katib.database_user], depends_on=apps_after)
        # Serving: (Knative operator → KnativeServing →) kserve-crd → kserve, after cert-manager's issuer,
        # Istio's gateways and the object store (model storage), which KServe's NEEDS guarantee.
        if c.kserve.enabled:
            srcs, istio = sources(c.kserve), _given(self.istio)
            local_gateway = istio.cluster_local
            knative = c.kserve.knative_serving
            if knative is not None:
                self.knative = Knative(self, "Knative", cluster=cluster, source=srcs["knative"],
                                       settings=knative, ingress=istio.ingress, local=istio.cluster_local,
                                       domain=c.kserve.ingress_domain, timeout_s=c.kserve.install_timeout_s,
                                       depends_on=after)
                local_gateway = self.knative.local_gateway
            self.kserve = KServe(self, "KServe", cluster=cluster, source=srcs["kserve"], settings=c.kserve,
                                 issuer=_given(issuer), ingress=istio.ingress, local_gateway=local_gateway,
                                 storage=self.object_store.endpoint if self.object_store else None)
        # Training: Trainer v2 and/or Training Operator v1, after cert-manager and Istio; GPU
        # scheduling from the node pools (ClusterHandle.gpu_pools), after the GPU Operator when installed.
        if c.training.enabled:
            srcs = sources(c.training)
            self.training = Training(self, "Training", cluster=cluster, trainer_source=srcs.get("trainer"),
                                     v1_source=srcs.get("training_operator"), settings=c.training,
                                     scheduling_namespace=cluster.shared_namespaces[c.training.scheduling_namespace],
                                     v1_namespace=cluster.shared_namespaces.get(c.training.v1_namespace),
                                     depends_on=(*after, *istio_ready),
                                     gpu_operator=self.gpu_operator.ref if self.gpu_operator else None)
        if c.dashboard.enabled:
            srcs, auth = sources(c.dashboard), _given(self.auth)
            self.dashboard = Dashboard(self, "Dashboard", cluster=cluster, dashboard_source=srcs["dashboard"],
                                       profiles_source=srcs["profiles"], notebooks_source=srcs["notebooks"],
                                       settings=c.dashboard,
                                       namespace=cluster.shared_namespaces[c.dashboard.namespace],
                                       user=auth.user, authorizer=auth.authorizer, ingress=_given(self.istio).ingress)
