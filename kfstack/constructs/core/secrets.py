"""Generated credentials: ``random_password`` values stored in a Kubernetes Secret.

The synthesized JSON holds only Terraform references
(``${random_password.<id>.result}``); the values exist in Terraform state
(marked sensitive) and in the cluster, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from kfstack.cdk import Construct, ITerraformDependable, Password, SecretV1, SecretV1Metadata

from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef


@dataclass(frozen=True)
class Generated:
    """One generated value and the Secret keys that hold it.

    Attributes:
        keys: data keys of the Secret that carry this value (one value may
            appear under several keys, e.g. ``accesskey`` and ``rootUser``).
        length: characters. Letters and digits only (``special = false``), so
            the value is safe in SQL, shell, URLs and config files unquoted.
    """

    keys: tuple[str, ...]
    length: int = 32


class GeneratedSecret(Construct):
    """``random_password`` per generated value, plus a ``kubernetes_secret_v1`` holding them.

    Example::

        creds = GeneratedSecret(self, "Credentials", cluster=cluster, namespace=ns.ref, name="s3-credentials",
                                generated={"AccessKey": Generated(("accesskey",), 20),
                                           "SecretKey": Generated(("secretkey",), 40)})
        creds.value("SecretKey")   # "${random_password.…_SecretKey_….result}"

    Args:
        generated: construct id (PascalCase, stable: renaming regenerates the
            value) → :class:`Generated`.
        fixed: non-secret data keys (user names, hosts), stored as given.

    Attributes:
        passwords: the ``random_password`` resources by construct id.
        resource: the Secret (construct id ``Resource``).
        name, namespace: where consumers find it.

    Raises:
        ValueError: a data key is used twice.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, namespace: NamespaceRef, name: str,
                 generated: Mapping[str, Generated], fixed: Mapping[str, str] | None = None,
                 depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        self.passwords: dict[str, Password] = {}
        data: dict[str, str] = dict(fixed or {})
        for pid, spec in generated.items():
            self.passwords[pid] = Password(self, pid, length=spec.length, special=False, min_numeric=2,
                                           min_lower=2, min_upper=2)
            for key in spec.keys:
                if key in data:
                    raise ValueError(f"Secret {name}: data key {key!r} is set twice")
                data[key] = self.passwords[pid].result
        self.name = name
        self.namespace = namespace.name
        self.resource = SecretV1(
            self, "Resource",
            provider=cluster.kubernetes,
            metadata=SecretV1Metadata(name=name, namespace=namespace.name, labels=dict(MANAGED_BY)),
            type="Opaque",
            data=dict(sorted(data.items())),
            depends_on=[*namespace.ready, *depends_on],
        )

    def value(self, password_id: str) -> str:
        """Terraform reference to a generated value (``random_password.result``, sensitive)."""
        return self.passwords[password_id].result
