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

from kfstack.cdk import (
    Construct, HelmProvider, HelmProviderKubernetes, KubernetesProvider, RandomProvider, TerraformStack,
)

from kfstack.config.environment import EnvironmentConfig
from kfstack.constructs.auth.construct import Auth
from kfstack.constructs.ceph.construct import Ceph
from kfstack.constructs.cert_manager.construct import CertManager
from kfstack.constructs.cluster_baseline.construct import ClusterBaseline
from kfstack.constructs.core.refs import StorageClassRef
from kfstack.constructs.dashboard.construct import Dashboard
from kfstack.constructs.gpu_operator.construct import GpuOperator
from kfstack.constructs.istio.construct import Istio
from kfstack.constructs.katib.construct import Katib
from kfstack.constructs.knative.construct import Knative
from kfstack.constructs.kserve.construct import KServe
from kfstack.constructs.kserve.settings import KServeMode
from kfstack.constructs.mysql.construct import MySql
from kfstack.constructs.object_store.construct import ObjectStore
from kfstack.constructs.object_store.settings import ObjectStoreBackend
from kfstack.constructs.pipelines.construct import Pipelines
from kfstack.constructs.training.construct import Training
from kfstack.sources.charts import ChartResolver, ChartSource
from kfstack.sources.lock import SourcesLock
from kfstack.stacks.backend import add_backend

MOVED_GATEWAY = "helm_release.Dashboard_Gateway_9B355024"
"""Terraform address of ``kubeflow-gateway`` when the Dashboard construct created it (before issue 14);
the Istio construct's release takes its state over (a ``moved`` block), so an existing Gateway is
upgraded in place, never destroyed and recreated."""

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


class PlatformStack(TerraformStack):
    """The Terraform stack of one environment, named exactly like it (``cdktf deploy prod``).

    Args:
        scope: the cdktf App.
        env: validated environment.
        lock: parsed sources.lock.
        paths: project folders (charts, vendor cache).

    Raises:
        SourceError: a chart is not pinned, or missing from the vendor cache.
    """

    def __init__(self, scope: Construct, env: EnvironmentConfig, *, lock: SourcesLock, paths: ProjectPaths) -> None:
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
        versions = env.release.versions
        c = env.components

        baseline = ClusterBaseline(self, "ClusterBaseline", kubernetes=kubernetes, helm=helm,
                                   node_pools=env.node_pools, storage_class=env.storage.default_class,
                                   registry=env.registry, settings=c.cluster_baseline,
                                   source=ChartSource(resolver, env.release.kubeflow))
        cluster = baseline.handle
        # Storage: Rook operator -> Ceph-CSI drivers -> CephCluster. Data services put
        # self.storage_class.ready in depends_on: the Ceph cluster release, or the
        # baseline when the cluster already has the StorageClass (dev: local-path).
        self.storage_class = StorageClassRef(name=env.storage.default_class, ready=tuple(cluster.ready))
        if c.ceph.enabled:
            self.ceph = Ceph(self, "Ceph", cluster=cluster, source=ChartSource(resolver, versions.rook),
                             settings=c.ceph)
            self.storage_class = self.ceph.storage_class
        after: tuple = ()
        if c.cert_manager.enabled:
            self.cert_manager = CertManager(self, "CertManager", cluster=cluster,
                                            source=ChartSource(resolver, versions.cert_manager),
                                            settings=c.cert_manager)
            after = tuple(self.cert_manager.issuer.ready)
        if c.istio.enabled:
            # With auth, istiod's mesh config names oauth2-proxy as the ext_authz provider: a pure value
            # of auth's settings, since istiod installs before auth (Auth.authorizer.ready is for what
            # needs it serving).
            self.istio = Istio(self, "Istio", cluster=cluster, source=ChartSource(resolver, versions.istio),
                               settings=c.istio, depends_on=after,
                               ext_authz=c.auth.authorizer if c.auth.enabled else None,
                               issuer=self.cert_manager.issuer if c.cert_manager.enabled else None,
                               # InferenceService URLs <name>-<namespace>.<domain> share the HTTPS gateway.
                               extra_hosts=[f"*.{c.kserve.ingress_domain}"] if c.kserve.enabled else [])
            self.istio.gateway.resource.move_from_id(MOVED_GATEWAY)
        # Multi-user front door (Kubeflow 26.03 README order): Istio → auth (Dex → oauth2-proxy)
        # → Profiles + KFAM → Central Dashboard (→ Notebooks). Config validation guarantees
        # Istio is enabled when auth is, and auth when the dashboard is.
        authorizer_ready: tuple = ()
        if c.auth.enabled:
            self.auth = Auth(self, "Auth", cluster=cluster, dex_source=ChartSource(resolver, versions.dex),
                             oauth2_proxy_source=ChartSource(resolver, versions.oauth2_proxy),
                             settings=c.auth, depends_on=self.istio.ready,
                             secure_cookies=self.istio.tls is not None)
            authorizer_ready = tuple(self.auth.authorizer.ready)
        # GPU Operator: independent, depends on the baseline only (upstream order: after Knative).
        if c.gpu_operator.enabled:
            self.gpu_operator = GpuOperator(self, "GpuOperator", cluster=cluster,
                                            source=ChartSource(resolver, versions.gpu_operator),
                                            settings=c.gpu_operator)
        # Data services: MySQL and the object store, on the environment's StorageClass.
        data_after = tuple(self.storage_class.ready)
        if c.object_store.enabled:
            store_version = versions.minio if c.object_store.backend is ObjectStoreBackend.minio else versions.seaweedfs
            ceph_ref = self.ceph.cluster_ref if c.ceph.enabled else None
            # Clients: the namespaces of the components wired to it, and the profile namespaces where
            # pipeline runs and InferenceServices read and write artifacts.
            self.object_store = ObjectStore(self, "ObjectStore", cluster=cluster,
                                            source=ChartSource(resolver, store_version), settings=c.object_store,
                                            ceph=ceph_ref, depends_on=data_after,
                                            clients=[c.pipelines.namespace] if c.pipelines.enabled else [],
                                            profile_clients=c.pipelines.enabled or c.kserve.enabled)
        if c.mysql.enabled:
            self.mysql = MySql(self, "MySql", cluster=cluster, source=ChartSource(resolver, versions.mysql_operator),
                               settings=c.mysql, depends_on=data_after,
                               clients=[app.namespace for app in (c.pipelines, c.katib) if app.enabled])
        # Pipelines and Katib (kustomize-only upstream) into the shared namespace, after Istio's
        # gateways, cert-manager's issuer, the data services they are wired to and, with auth, the
        # authorizer: their UIs behind kubeflow-gateway trust the kubeflow-userid header, so they are
        # routed only once requests are checked. Config validation guarantees those are enabled.
        apps_after = (*self.istio.ready, *self.cert_manager.issuer.ready, *authorizer_ready) \
            if (c.pipelines.enabled or c.katib.enabled) else ()
        if c.pipelines.enabled:
            self.pipelines = Pipelines(self, "Pipelines", cluster=cluster,
                                       source=ChartSource(resolver, versions.pipelines), settings=c.pipelines,
                                       database=self.mysql.endpoint, artifacts=self.object_store.endpoint,
                                       depends_on=apps_after)
        if c.katib.enabled:
            self.katib = Katib(self, "Katib", cluster=cluster, source=ChartSource(resolver, versions.katib),
                               settings=c.katib, database=self.mysql.endpoint, depends_on=apps_after)
        # Serving: (Knative operator → KnativeServing →) kserve-crd → kserve, after cert-manager's issuer,
        # Istio's gateways and the object store (model storage). Config validation guarantees
        # cert-manager and Istio when KServe is enabled.
        if c.kserve.enabled:
            local_gateway = self.istio.cluster_local
            if c.kserve.mode is KServeMode.knative:
                self.knative = Knative(self, "Knative", cluster=cluster, source=ChartSource(resolver, versions.knative),
                                       settings=c.kserve.knative, ingress=self.istio.ingress,
                                       local=self.istio.cluster_local, domain=c.kserve.ingress_domain,
                                       timeout_s=c.kserve.install_timeout_s, depends_on=after)
                local_gateway = self.knative.local_gateway
            self.kserve = KServe(self, "KServe", cluster=cluster, source=ChartSource(resolver, versions.kserve),
                                 settings=c.kserve, issuer=self.cert_manager.issuer, ingress=self.istio.ingress,
                                 local_gateway=local_gateway,
                                 storage=self.object_store.endpoint if c.object_store.enabled else None)
        # Training: Trainer v2 and/or Training Operator v1, after cert-manager and Istio; GPU
        # scheduling from the node pools (ClusterHandle.gpu_pools), after the GPU Operator when installed.
        if c.training.enabled:
            training_after = (*after, *(self.istio.ready if c.istio.enabled else ()))
            self.training = Training(self, "Training", cluster=cluster,
                                     trainer_source=ChartSource(resolver, versions.trainer),
                                     v1_source=ChartSource(resolver, versions.training_operator),
                                     settings=c.training, depends_on=training_after,
                                     gpu_operator=self.gpu_operator.ref if c.gpu_operator.enabled else None)
        if c.dashboard.enabled:
            self.dashboard = Dashboard(self, "Dashboard", cluster=cluster,
                                       dashboard_source=ChartSource(resolver, versions.dashboard),
                                       profiles_source=ChartSource(resolver, versions.profiles),
                                       notebooks_source=ChartSource(resolver, versions.notebooks),
                                       settings=c.dashboard, user=self.auth.user, authorizer=self.auth.authorizer,
                                       ingress=self.istio.ingress)
