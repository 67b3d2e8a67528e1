"""Production guardrails: rules a ``tier: production`` environment must satisfy.

Each rule is a function ``(env) -> list[(key path, message)]`` registered in
:data:`RULES`; later components add their own. The loader turns violations
into :class:`~kfstack.config.errors.Problem` entries naming the file that set
the offending key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from kfstack.config.errors import Loc

if TYPE_CHECKING:
    from kfstack.config.environment import EnvironmentConfig

Violation = tuple[Loc, str]
Rule = Callable[["EnvironmentConfig"], list[Violation]]


def _cert_manager_ha(env: "EnvironmentConfig") -> list[Violation]:
    cm = env.components.cert_manager
    if cm.enabled and cm.replicas < 2:
        return [(("components", "cert_manager", "replicas"),
                 f"production needs >= 2 cert-manager replicas (webhook HA), got {cm.replicas}")]
    return []


def _istio_ha(env: "EnvironmentConfig") -> list[Violation]:
    istio = env.components.istio
    out: list[Violation] = []
    if not istio.enabled:
        return out
    if istio.istiod_replicas < 2:
        out.append((("components", "istio", "istiod_replicas"),
                    f"production needs >= 2 istiod replicas, got {istio.istiod_replicas}"))
    if istio.ingress_gateway.replicas < 2:
        out.append((("components", "istio", "ingress_gateway", "replicas"),
                    f"production needs >= 2 ingress gateway replicas, got {istio.ingress_gateway.replicas}"))
    return out


def _gpu_pools_tainted(env: "EnvironmentConfig") -> list[Violation]:
    out: list[Violation] = []
    for i, pool in enumerate(env.node_pools):
        if pool.gpu is not None and pool.gpu.sharing.value == "exclusive" and not pool.taints:
            out.append((("node_pools", i, "taints"),
                        f"GPU pool {pool.name!r} schedules GPUs exclusively but has no taint; add e.g. "
                        "{key: nvidia.com/gpu, value: present, effect: NoSchedule} so CPU pods stay off it"))
    return out


def _ceph_explicit_and_redundant(env: "EnvironmentConfig") -> list[Violation]:
    """Production Ceph: explicit nodes and disks, >= 3 storage nodes and mons, every pool replicated >= 3."""
    ceph = env.components.ceph
    if not ceph.enabled:
        return []
    at = ("components", "ceph")
    out: list[Violation] = []
    if ceph.use_all_devices:
        out.append((at + ("use_all_devices",),
                    "production must not hand Ceph every empty disk; set use_all_devices: false and list "
                    "each node's devices (e.g. devices: [sdb, sdc])"))
    if ceph.use_all_nodes:
        out.append((at + ("use_all_nodes",),
                    "production must list its storage nodes; set use_all_nodes: false and fill nodes"))
    for i, node in enumerate(ceph.nodes):
        if not node.devices:
            out.append((at + ("nodes", i, "devices"),
                        f"storage node {node.name!r} lists no devices; production names every OSD disk"))
    if not ceph.use_all_nodes and len(ceph.nodes) < 3:
        out.append((at + ("nodes",),
                    f"production needs >= 3 storage nodes (3-way replication across hosts), got {len(ceph.nodes)}"))
    if ceph.mon_count < 3:
        out.append((at + ("mon_count",), f"production needs >= 3 Ceph monitors for quorum, got {ceph.mon_count}"))
    pools = [(("block_pool", "replicas"), ceph.block_pool.replicas, True),
             (("filesystem", "replicas"), ceph.filesystem.replicas, ceph.filesystem.enabled),
             (("object_store", "replicas"), ceph.object_store.replicas, ceph.object_store.enabled)]
    for key, replicas, used in pools:
        if used and replicas < 3:
            out.append((at + key, f"production needs pool replication >= 3, got {replicas}"))
    return out


def _mysql_ha(env: "EnvironmentConfig") -> list[Violation]:
    """Production MySQL: >= 3 servers (Group Replication majority), >= 2 routers, scheduled backups."""
    db = env.components.mysql
    if not db.enabled:
        return []
    at = ("components", "mysql")
    out: list[Violation] = []
    if db.server_instances < 3:
        out.append((at + ("server_instances",),
                    f"production needs >= 3 MySQL servers (a single server is a single point of failure "
                    f"for Pipelines and Katib), got {db.server_instances}"))
    if db.router_instances < 2:
        out.append((at + ("router_instances",), f"production needs >= 2 MySQL routers, got {db.router_instances}"))
    if not db.backup.enabled:
        out.append((at + ("backup", "enabled"), "production needs scheduled MySQL backups; set backup.enabled: true"))
    return out


def _object_store_redundant(env: "EnvironmentConfig") -> list[Violation]:
    """Production object store: persistent volumes and a backend that survives the loss of one server."""
    store = env.components.object_store
    if not store.enabled:
        return []
    at = ("components", "object_store")
    out: list[Violation] = []
    if not store.persistent:
        out.append((at + ("persistent",),
                    "production stores artifacts on PVCs of the storage class, never emptyDir; "
                    "remove persistent: false"))
    backend = store.backend.value
    if backend == "seaweedfs":
        sw, key = store.seaweedfs, at + ("seaweedfs",)
        for field, minimum in (("master_replicas", 3), ("volume_replicas", 3), ("filer_replicas", 2),
                               ("s3_replicas", 2)):
            if getattr(sw, field) < minimum:
                out.append((key + (field,), f"production needs a redundant object store: seaweedfs {field} "
                                            f">= {minimum}, got {getattr(sw, field)}"))
        if sw.replication == "000":
            out.append((key + ("replication",), "production keeps >= 2 copies of every object; set "
                                                "replication: \"001\" (needs >= 2 volume servers)"))
    elif backend == "minio":
        mn, key = store.minio, at + ("minio",)
        if mn.mode.value != "distributed":
            out.append((key + ("mode",), "production needs MinIO mode distributed (erasure coded), "
                                         f"got {mn.mode.value}"))
        if mn.replicas < 4:
            out.append((key + ("replicas",), f"production needs >= 4 MinIO servers, got {mn.replicas}"))
    else:
        rgw, key = store.ceph_rgw, at + ("ceph_rgw",)
        if rgw.gateway_instances < 2:
            out.append((key + ("gateway_instances",),
                        f"production needs >= 2 RGW gateways, got {rgw.gateway_instances}"))
        if rgw.pool_replicas < 3:
            out.append((key + ("pool_replicas",), f"production needs pool replication >= 3, got {rgw.pool_replicas}"))
    return out


def _shared_locked_state(env: "EnvironmentConfig") -> list[Violation]:
    """Production state is shared and locked: pg, s3 (with its lock file) or kubernetes, never a local file."""
    backend = env.backend
    if backend.type == "local":
        return [(("backend", "type"),
                 "production keeps Terraform state in a shared, locked backend (pg, s3 or kubernetes); a local "
                 "state file lives on one machine and two operators can apply at once")]
    if backend.type == "s3" and not backend.use_lockfile:
        return [(("backend", "use_lockfile"),
                 "production locks its state: set use_lockfile: true (a .tflock object next to the state)")]
    return []


EXAMPLE_USER = "user@example.com"
"""Upstream's example user (Dex staticPasswords in kubeflow/manifests); base.yaml's default."""

_LEVELS = ("privileged", "baseline", "restricted")


def _no_open_front_door(env: "EnvironmentConfig") -> list[Violation]:
    """An exposed ingress gateway (LoadBalancer or NodePort) needs auth and the dashboard in front of it:
    without Dex + oauth2-proxy (Istio's ext_authz) every Kubeflow API answers anyone who reaches it."""
    c = env.components
    exposed = c.istio.enabled and c.istio.ingress_gateway.service_type in ("LoadBalancer", "NodePort")
    if not exposed:
        return []
    how = c.istio.ingress_gateway.service_type
    out: list[Violation] = []
    for name in ("auth", "dashboard"):
        if not getattr(c, name).enabled:
            out.append((("components", name, "enabled"),
                        f"the ingress gateway is exposed ({how}) but {name} is disabled: the platform would be "
                        f"open to anyone who reaches it; enable components.{name} or set "
                        "components.istio.ingress_gateway.service_type: ClusterIP"))
    return out


def _site_user(env: "EnvironmentConfig") -> list[Violation]:
    """Production names its first user; upstream's example user is a well-known login name."""
    auth = env.components.auth
    if auth.enabled and auth.user_email.lower() == EXAMPLE_USER:
        return [(("components", "auth", "user_email"),
                 f"production must name the site's first user, not the example {EXAMPLE_USER}; set "
                 "components.auth.user_email (e.g. ml-admin@your-site)")]
    return []


def _no_plain_http(env: "EnvironmentConfig") -> list[Violation]:
    """Charts and state travel over TLS: no http:// chart mirror, no http:// S3 state endpoint."""
    out: list[Violation] = []
    url = env.sources.mirror_url
    if env.sources.mode.value == "mirror" and url and url.lower().startswith("http://"):
        out.append((("sources", "mirror_url"),
                    f"production reads charts over TLS: {url} is plain http; use https:// or oci://"))
    backend = env.backend
    if backend.type == "s3" and backend.endpoint.lower().startswith("http://"):
        out.append((("backend", "endpoint"),
                    f"production keeps Terraform state (which holds secrets) behind TLS: {backend.endpoint} is "
                    "plain http; use https://"))
    return out


def _pod_security_not_below_upstream(env: "EnvironmentConfig") -> list[Violation]:
    """Shared namespaces enforce at least upstream's Pod Security level, unless the environment says why."""
    from kfstack.constructs.cluster_baseline.settings import UPSTREAM_POD_SECURITY

    out: list[Violation] = []
    for i, ns in enumerate(env.components.cluster_baseline.shared_namespaces):
        upstream = UPSTREAM_POD_SECURITY.get(ns.name)
        if upstream is None or _LEVELS.index(ns.pod_security.value) >= _LEVELS.index(upstream.value):
            continue
        if ns.pod_security_reason:
            continue
        out.append((("components", "cluster_baseline", "shared_namespaces", i, "pod_security"),
                    f"namespace {ns.name!r} enforces Pod Security {ns.pod_security.value}, below upstream's "
                    f"{upstream.value}; set pod_security: {upstream.value}, or say why in pod_security_reason"))
    return out


def _tls_at_the_gateway(env: "EnvironmentConfig") -> list[Violation]:
    """Production serves Kubeflow over HTTPS: Dex logins and session cookies never cross the network in clear."""
    istio = env.components.istio
    if istio.enabled and not istio.tls.enabled:
        return [(("components", "istio", "tls", "enabled"),
                 "production serves Kubeflow over HTTPS: set tls.enabled: true with hostname and the site's "
                 "cluster_issuer or ca_secret")]
    return []


def _no_self_signed_outside_development(env: "EnvironmentConfig") -> list[Violation]:
    """A self-signed gateway certificate teaches users to click through warnings: development only."""
    tls = env.components.istio.tls
    if env.components.istio.enabled and tls.enabled and tls.self_signed:
        return [(("components", "istio", "tls"),
                 f"tier {env.tier.value} needs a certificate the site's users can trust: set tls.cluster_issuer "
                 "(a ClusterIssuer the site owns) or tls.ca_secret (its CA in a Secret); the self-signing "
                 "issuer is for tier development")]
    return []


NON_DEVELOPMENT_RULES: list[Rule] = [_no_self_signed_outside_development]
"""Rules for every tier but development (staging and production)."""


def check_non_development(env: "EnvironmentConfig") -> list[Violation]:
    """Violations of :data:`NON_DEVELOPMENT_RULES`; empty for tier development."""
    if env.tier.value == "development":
        return []
    return [v for rule in NON_DEVELOPMENT_RULES for v in rule(env)]


RULES: list[Rule] = [_tls_at_the_gateway, _cert_manager_ha, _istio_ha, _gpu_pools_tainted, _ceph_explicit_and_redundant,
                     _mysql_ha, _object_store_redundant, _shared_locked_state, _no_open_front_door, _site_user,
                     _no_plain_http, _pod_security_not_below_upstream]


def check_guardrails(env: "EnvironmentConfig") -> list[Violation]:
    """All guardrail violations of ``env``; empty unless ``env.tier`` is production."""
    if env.tier.value != "production":
        return []
    out: list[Violation] = []
    for rule in RULES:
        out.extend(rule(env))
    return out
