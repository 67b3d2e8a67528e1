"""The environment's Terraform state backend: local, pg, s3 or kubernetes (``backend.type``).

Credentials never reach the JSON: Terraform reads them from the environment at run time
(``PG_CONN_STR``; ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``; the kubeconfig).
"""

from __future__ import annotations

from typing import Any, Callable

from kfstack.cdk import (
    Construct, LocalBackend, PgBackend, S3Backend, S3BackendEndpointConfig, TerraformBackend, TerraformStack,
)

from kfstack.config.environment import EnvironmentConfig


class KubernetesBackend(TerraformBackend):
    """Terraform's ``kubernetes`` backend (state in a Secret, lock in a Lease); cdktf 0.21 has no class for it."""

    def __init__(self, scope: Construct, *, secret_suffix: str, namespace: str, config_path: str,
                 config_context: str) -> None:
        super().__init__(scope, "backend", "kubernetes")
        self._attributes = {"secret_suffix": secret_suffix, "namespace": namespace, "config_path": config_path,
                            "config_context": config_context}

    def _synthesize_attributes(self) -> dict[str, Any]:  # jsii override of the protected synthesizeAttributes
        return dict(self._attributes)

    def get_remote_state_data_source(self, scope: Construct, name: str, _from_stack: str):  # noqa: D102
        raise NotImplementedError("kfstack stacks do not read each other's state")


def add_backend(stack: TerraformStack, env: EnvironmentConfig, *,
                from_stack_dir: Callable[[str], str]) -> TerraformBackend:
    """The environment's state backend. No credentials are written: Terraform reads them at run time
    (pg: ``PG_CONN_STR``; s3: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``; kubernetes: the kubeconfig).

    ``from_stack_dir`` turns a project-relative path into one relative to where Terraform runs.
    """
    b = env.backend
    if b.type == "pg":
        pg = PgBackend(stack, conn_str="set by PG_CONN_STR", schema_name=b.schema_for(env.name))
        pg.add_override("conn_str", None)  # drop it: Terraform then reads PG_CONN_STR
        return pg
    if b.type == "s3":
        s3 = S3Backend(stack, bucket=b.bucket, key=b.key_for(env.name), region=b.region,
                       endpoints=S3BackendEndpointConfig(s3=b.endpoint), use_path_style=b.use_path_style,
                       skip_credentials_validation=b.skip_credentials_validation,
                       skip_region_validation=b.skip_region_validation,
                       skip_requesting_account_id=b.skip_requesting_account_id,
                       skip_metadata_api_check=b.skip_metadata_api_check, skip_s3_checksum=b.skip_s3_checksum)
        s3.add_override("use_lockfile", b.use_lockfile)  # OpenTofu >= 1.10 / Terraform >= 1.10; not in cdktf 0.21
        return s3
    if b.type == "kubernetes":
        return KubernetesBackend(stack, secret_suffix=b.secret_suffix or env.name, namespace=b.namespace,
                                 config_path=env.cluster.kubeconfig, config_context=env.cluster.context)
    # local: ``path`` is project-relative; ``from_stack_dir`` rebases it to where Terraform runs.
    return LocalBackend(stack, path=from_stack_dir(b.path or f"state/{env.name}.tfstate"))
