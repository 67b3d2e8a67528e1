"""MySQL construct: mysql-operator → InnoDB Cluster → databases and users.

Charts (MySQL Operator 9.5.0-2.2.6, https://mysql.github.io/mysql-operator/):

- ``mysql-operator`` 2.2.6: ``image.registry``, ``image.repository``,
  ``image.pullSecrets.{enabled,secretName}``, ``envs.imagesDefaultRegistry``,
  ``envs.imagesDefaultRepository`` (where the operator pulls server and router images).
- ``mysql-innodbcluster`` 2.2.6: ``serverVersion``, ``serverInstances``,
  ``routerInstances``, ``baseServerId``, ``tls.useSelfSigned``,
  ``credentials.root.{user,host,password}`` (the password only as a
  ``set_sensitive`` reference to a ``random_password``), ``image.pullPolicy``,
  ``image.pullSecrets.{enabled,secretName}``,
  ``datadirVolumeClaimTemplate.{storageClassName,accessModes,resources.requests.storage}``,
  ``podSpec``, ``router.podSpec``, ``backupProfiles[].dumpInstance.storage.persistentVolumeClaim.claimName``,
  ``backupSchedules[].{name,schedule,timeZone,deleteBackupData,enabled,backupProfileName}``.
- ``mysql-bootstrap`` (this project's chart, ``charts/mysql-bootstrap``): a hook Job
  that creates the databases and users, reading every password from Secrets.

The InnoDBCluster is a custom resource delivered by its chart after the operator
release (which brings the CRDs), never as a ``kubernetes_manifest``.
"""

from __future__ import annotations

from typing import Any, Sequence

from kfstack.cdk import (
    Construct, ITerraformDependable, Password, PersistentVolumeClaimV1, PersistentVolumeClaimV1Metadata,
    PersistentVolumeClaimV1Spec, PersistentVolumeClaimV1SpecResources,
)

from kfstack.constructs.core import ClusterHandle, HelmChart, Namespace
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.network import Allow, IngressPolicies
from kfstack.constructs.core.refs import MySqlEndpoint, MySqlUserRef
from kfstack.constructs.core.secrets import Generated, GeneratedSecret
from kfstack.constructs.mysql.settings import MySqlSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

MYSQL_PORT = 3306
CLIENT_PORTS = (MYSQL_PORT, 33060, (6446, 6450))
"""Pod ports clients reach: the servers' classic and X protocols, and MySQL Router's 6446-6450
(read-write, read-only, X read-write, X read-only, read-write split), which the InnoDBCluster's
Service (``<cluster>:3306`` → router 6446) forwards to."""
"""Classic-protocol read/write port of the InnoDB Cluster's service (MySQL Router)."""
ORACLE_REGISTRY = "container-registry.oracle.com"
IMAGE_REPOSITORY = "mysql"
SERVER_IMAGE = "community-server"
BACKUP_PROFILE = "dump-to-pvc"
USERNAME_KEY = "username"
PASSWORD_KEY = "password"


def _pull_secrets(cluster: ClusterHandle) -> dict[str, Any]:
    secret = cluster.mirror.pull_secret if cluster.mirror else None
    return {"enabled": True, "secretName": secret} if secret else {"enabled": False}


def _operator_values(settings: MySqlSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for mysql-operator (keys from chart 2.2.6 values.yaml)."""
    values: dict[str, Any] = {"image": {"pullSecrets": _pull_secrets(cluster)}}
    if cluster.mirror is not None:
        values["image"].update(registry=cluster.mirror.host, repository=IMAGE_REPOSITORY)
        values["envs"] = {"imagesDefaultRegistry": cluster.mirror.host,
                          "imagesDefaultRepository": IMAGE_REPOSITORY}
    return values


def backup_claim_name(settings: MySqlSettings) -> str:
    """Name of the PVC scheduled backups are written to."""
    return f"{settings.cluster_name}-backup"


def _cluster_values(settings: MySqlSettings, cluster: ClusterHandle, server_version: str) -> dict[str, Any]:
    """Chart values for mysql-innodbcluster (keys from chart 2.2.6 values.yaml and deployment_cluster.yaml).

    The root password is not here: it is passed as ``set_sensitive``.
    """
    priority = {"priorityClassName": cluster.priority_classes["platform"]}
    values: dict[str, Any] = {
        "serverVersion": server_version,
        "serverInstances": settings.server_instances,
        "routerInstances": settings.router_instances,
        "baseServerId": 1000,
        "tls": {"useSelfSigned": True},
        "credentials": {"root": {"user": "root", "host": "%"}},
        "image": {"pullPolicy": "IfNotPresent", "pullSecrets": _pull_secrets(cluster)},
        "datadirVolumeClaimTemplate": {
            "storageClassName": cluster.storage_class,
            "accessModes": "ReadWriteOnce",
            "resources": {"requests": {"storage": f"{settings.size_gib}Gi"}},
        },
        "podSpec": dict(priority),
        "router": {"podSpec": dict(priority)},
    }
    if settings.backup.enabled:
        values["backupProfiles"] = [{
            "name": BACKUP_PROFILE,
            "dumpInstance": {"storage": {"persistentVolumeClaim": {"claimName": backup_claim_name(settings)}}},
        }]
        values["backupSchedules"] = [{
            "name": "scheduled",
            "schedule": settings.backup.schedule,
            "timeZone": settings.backup.time_zone,
            "deleteBackupData": False,
            "enabled": True,
            "backupProfileName": BACKUP_PROFILE,
        }]
    return values


def user_secret_name(settings: MySqlSettings, user: str) -> str:
    """Secret holding one application user's credentials (``_`` becomes ``-``)."""
    return f"{settings.cluster_name}-user-{user.replace('_', '-')}"


def _bootstrap_values(settings: MySqlSettings, cluster: ClusterHandle, host: str,
                      server_version: str) -> dict[str, Any]:
    """Values of this project's mysql-bootstrap chart (see charts/mysql-bootstrap/values.yaml)."""
    registry = cluster.mirror.host if cluster.mirror else ORACLE_REGISTRY
    return {
        "mysql": {"host": host, "port": MYSQL_PORT},
        "rootSecret": {"name": f"{settings.cluster_name}-cluster-secret",
                       "userKey": "rootUser", "passwordKey": "rootPassword"},
        "users": [
            {"name": u.name, "databases": list(u.databases), "secretName": user_secret_name(settings, u.name),
             "passwordKey": PASSWORD_KEY}
            for u in settings.users
        ],
        "image": f"{registry}/{IMAGE_REPOSITORY}/{SERVER_IMAGE}:{server_version}",
        "imagePullSecrets": cluster.mirror.pull_secrets if cluster.mirror else [],
        "priorityClassName": cluster.priority_classes["platform"],
        "waitSeconds": max(60, settings.install_timeout_s - 120),
    }


class MySql(Construct):
    """MySQL Operator, one InnoDB Cluster, and Kubeflow's databases and users.

    Example::

        db = MySql(stack, "MySql", cluster=baseline.handle,
                   source=ChartSource(resolver, "9.5.0", MySqlSettings.INSTALLS[0]),
                   settings=MySqlSettings(server_instances=3, router_instances=2))
        db.endpoint.host                   # "mysql.mysql.svc.cluster.local"
        db.endpoint.users["kfp"].secret_name  # "mysql-user-kfp"

    ``clients`` are the namespaces of the components wired to a database user (Pipelines,
    Katib); only they (and the operator) may connect.

    ``source.app_version`` is the MySQL version: the server image tag and
    ``serverVersion`` (mysql-innodbcluster 2.2.6 defaults to 9.5.0 as well).

    Attributes:
        operator, cluster, bootstrap: the three releases (``HelmChart``).
        root_password: the ``random_password`` of MySQL's root account.
        user_secrets: generated Secret per application user.
        backup_claim: the backup PVC, or None when backups are off.
        endpoint: the typed :class:`MySqlEndpoint`, ready after the bootstrap Job.
        network_policies: ingress to the MySQL namespace: its own pods, the operator's namespace,
            and ``clients`` on :data:`CLIENT_PORTS`; everything else is denied.

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: MySqlSettings, depends_on: Sequence[ITerraformDependable] = (),
                 clients: Sequence[str] = ()) -> None:
        super().__init__(scope, id_)
        version = source.app_version
        timeout = settings.install_timeout_s
        self.operator_namespace = Namespace(
            self, "OperatorNamespace", cluster_provider=cluster.kubernetes, name=settings.operator_namespace,
            pod_security=PodSecurityLevel.baseline, depends_on=cluster.ready, mirror=cluster.mirror)
        self.namespace = Namespace.for_component(self, cluster, settings.namespace, PodSecurityLevel.baseline)
        ns = self.namespace.ref

        self.operator = HelmChart(
            self, "Operator", cluster=cluster, chart=source.chart("mysql-operator"), release_name="mysql-operator",
            namespace=self.operator_namespace.ref, values=_operator_values(settings, cluster), timeout_s=timeout,
            depends_on=list(depends_on))

        self.root_password = Password(self, "RootPassword", length=32, special=False,
                                      min_numeric=2, min_lower=2, min_upper=2)
        self.backup_claim: PersistentVolumeClaimV1 | None = None
        after: list[ITerraformDependable] = [self.operator.resource]
        if settings.backup.enabled:
            self.backup_claim = PersistentVolumeClaimV1(
                self, "BackupClaim",
                provider=cluster.kubernetes,
                metadata=PersistentVolumeClaimV1Metadata(name=backup_claim_name(settings), namespace=ns.name,
                                                         labels=dict(MANAGED_BY)),
                spec=PersistentVolumeClaimV1Spec(
                    access_modes=["ReadWriteOnce"], storage_class_name=cluster.storage_class,
                    resources=PersistentVolumeClaimV1SpecResources(requests={"storage": f"{settings.backup.size_gib}Gi"}),
                ),
                wait_until_bound=False,
                depends_on=[*ns.ready, *depends_on],
            )
            after.append(self.backup_claim)
        self.cluster = HelmChart(
            self, "Cluster", cluster=cluster, chart=source.chart("mysql-innodbcluster"),
            release_name=settings.cluster_name, namespace=ns, values=_cluster_values(settings, cluster, version),
            timeout_s=timeout, depends_on=after,
            sensitive_values={"credentials.root.password": self.root_password.result})

        host = f"{settings.cluster_name}.{settings.namespace}.svc.cluster.local"
        self.user_secrets: dict[str, GeneratedSecret] = {}
        users: dict[str, MySqlUserRef] = {}
        for user in settings.users:
            # Users are a list from the environment: the id derives from the (unique) name,
            # stable when the list is reordered, e.g. "kfp" -> "User-kfp".
            secret = GeneratedSecret(
                self, f"User-{user.name}", cluster=cluster, namespace=ns, name=user_secret_name(settings, user.name),
                generated={"Password": Generated((PASSWORD_KEY,), 32)}, fixed={USERNAME_KEY: user.name})
            self.user_secrets[user.name] = secret
            users[user.name] = MySqlUserRef(
                username=user.name, databases=user.databases, secret_name=secret.name,
                secret_namespace=settings.namespace, username_key=USERNAME_KEY, password_key=PASSWORD_KEY,
                password=secret.value("Password"))

        self.bootstrap = HelmChart(
            self, "Bootstrap", cluster=cluster, chart=source.project_chart("mysql-bootstrap"),
            release_name=f"{settings.cluster_name}-bootstrap", namespace=ns,
            values=_bootstrap_values(settings, cluster, host, version), timeout_s=timeout,
            depends_on=[self.cluster.resource, *(s.resource for s in self.user_secrets.values())])
        self.endpoint = MySqlEndpoint(host=host, port=MYSQL_PORT, users=users, ready=(self.bootstrap.resource,))
        # Who may connect (issue 13): nothing but the cluster's own pods (servers, routers, backup and
        # bootstrap Jobs), the operator, and the namespaces of the components wired to a user.
        self.network_policies = IngressPolicies(self, "NetworkPolicies", cluster=cluster, namespace=ns, allow=(
            Allow("same-namespace", same_namespace=True),
            Allow("operator", namespaces=(settings.operator_namespace,)),
            Allow("clients", namespaces=tuple(clients), ports=CLIENT_PORTS),
        ))
