"""Settings of MySQL (importable without cdktf).

Checked against the ``mysql-operator`` and ``mysql-innodbcluster`` charts 2.2.6
(MySQL Operator 9.5.0-2.2.6, https://mysql.github.io/mysql-operator/,
``helm/*/values.yaml`` and ``templates/deployment_cluster.yaml`` in mysql/mysql-operator).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from kfstack.cron import check_schedule

from kfstack.model import ComponentSettings, DnsLabel, Installs, KeyPath, Settings

MySqlName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A MySQL database or user name: lowercase letter, then letters, digits, underscores (<= 32 chars)."""

CronSchedule = Annotated[str, StringConstraints(pattern=r"^((\S+\s+){4}\S+|@[a-z]+)$"), AfterValidator(check_schedule)]
"""A cron schedule Kubernetes accepts and that fires, e.g. ``0 2 * * *`` (see :mod:`kfstack.cron`)."""


def _known_zone(zone: str) -> str:
    """An IANA time zone name (the CronJob ``timeZone`` the operator sets must exist in the tz database)."""
    import zoneinfo

    if zone not in zoneinfo.available_timezones():
        raise ValueError(f"{zone!r} is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)")
    return zone


class MySqlUser(Settings):
    """An application user with full rights on its databases (created by the bootstrap Job).

    Its generated password is in the Secret ``mysql-user-<name>`` (keys
    ``username``, ``password``) in the MySQL namespace.
    """

    name: MySqlName
    databases: tuple[MySqlName, ...] = Field(..., min_length=1, description="Databases it owns (created if absent). Required.")


class MySqlBackupSettings(Settings):
    """Scheduled logical backups (InnoDBCluster ``backupProfiles`` / ``backupSchedules``, dumpInstance to a PVC)."""

    enabled: bool = Field(False, description="Run scheduled backups. Default false (required in production).")
    schedule: CronSchedule = Field("0 2 * * *", description="Cron schedule (backupSchedules[].schedule). Default 02:00 daily.")
    time_zone: Annotated[str, AfterValidator(_known_zone)] = Field("UTC", pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$",
                           description="Time zone of the schedule (backupSchedules[].timeZone). Default UTC.")
    size_gib: int = Field(50, ge=1, le=100_000,
                          description="Backup PVC size, GiB, on the environment's StorageClass. Default 50.")


class MySqlSettings(ComponentSettings):
    """MySQL Operator and one InnoDB Cluster holding Kubeflow's databases.

    Example::

        components:
          mysql:
            server_instances: 3
            router_instances: 2
            backup: {enabled: true, schedule: "0 2 * * *"}
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("mysql_operator", charts=("mysql-operator", "mysql-innodbcluster")),)

    namespace: DnsLabel = Field("mysql", description="Namespace of the InnoDB Cluster and user Secrets. Default mysql.")
    operator_namespace: DnsLabel = Field("mysql-operator", description="Namespace of the operator. Default mysql-operator.")
    cluster_name: DnsLabel = Field(
        "mysql", max_length=40,
        description="InnoDBCluster (and Helm release) name; the service is <name>.<namespace>. Default mysql.",
    )
    server_instances: int = Field(
        1, ge=1, le=9,
        description="MySQL servers in the group (serverInstances); odd. Default 1 (no HA; production needs 3).",
    )
    router_instances: int = Field(1, ge=1, le=10, description="MySQL Router pods (routerInstances). Default 1.")
    size_gib: int = Field(20, ge=1, le=100_000,
                          description="Data PVC per server (datadirVolumeClaimTemplate), GiB. Default 20.")
    backup: MySqlBackupSettings = Field(MySqlBackupSettings(), description="Scheduled backups. Default off.")
    users: tuple[MySqlUser, ...] = Field(
        (MySqlUser(name="kfp", databases=("mlpipeline", "cachedb", "metadb")),
         MySqlUser(name="katib", databases=("katib",))),
        min_length=1,
        description="Application users and their databases. Default: kfp (mlpipeline, cachedb, metadb) "
        "for Pipelines and katib (katib) for Katib.",
    )

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The cluster's and the operator's namespaces."""
        return {("namespace",): self.namespace, ("operator_namespace",): self.operator_namespace}

    def user(self, name: str) -> MySqlUser | None:
        """The application user ``name`` of :attr:`users`, or None."""
        return next((u for u in self.users if u.name == name), None)

    def unknown_user(self, name: str, key: str) -> str | None:
        """The message for ``components.<key>`` naming a user not in :attr:`users` (None when it is one)."""
        if self.user(name) is not None:
            return None
        return (f"components.{key} {name!r} is not one of components.mysql.users "
                f"({', '.join(sorted(u.name for u in self.users))})")

    @field_validator("server_instances")
    @classmethod
    def _odd(cls, count: int) -> int:
        if count % 2 == 0:
            raise ValueError(f"server_instances must be odd for a Group Replication majority (1, 3, 5), got {count}")
        return count

    @field_validator("users")
    @classmethod
    def _unique(cls, users: tuple[MySqlUser, ...]) -> tuple[MySqlUser, ...]:
        names: set[str] = set()
        dbs: dict[str, str] = {}
        for user in users:
            if user.name in names or user.name == "root":
                raise ValueError(f"user {user.name!r} is listed twice or reserved")
            names.add(user.name)
            for db in user.databases:
                if db in dbs:
                    raise ValueError(f"database {db!r} belongs to both {dbs[db]!r} and {user.name!r}")
                dbs[db] = user.name
        return users
