"""Settings of Knative Serving (importable without cdktf).

Checked against the Knative Operator chart ``knative-operator`` v1.21.0
(https://knative.github.io/operator; ``config/charts/knative-operator`` in
knative/operator tag knative-v1.21.0) and the operator's ``KnativeServing``
API ``operator.knative.dev/v1beta1`` at the same tag.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import DnsLabel, Installs, Settings


class KnativeSettings(Settings):
    """Knative Serving, installed only when ``components.kserve.mode`` is ``knative``.

    Upstream publishes no Helm chart for Knative Serving itself, only for the
    Knative Operator; kfstack installs the operator chart, then one
    ``KnativeServing`` resource (through the project's raw-manifests chart)
    that the operator turns into Knative Serving + net-istio.

    Example::

        components:
          kserve:
            mode: knative
            knative: {high_availability_replicas: 2}
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("knative", charts=("knative-operator",)),)
    """Declared here, installed through KServe (:meth:`KServeSettings.installs` in mode knative)."""

    operator_namespace: DnsLabel = Field(
        "knative-operator", description="Namespace of the Knative Operator release. Default knative-operator.")
    namespace: DnsLabel = Field(
        "knative-serving",
        description="Namespace of the KnativeServing resource and Knative Serving's pods; Kubeflow and KServe "
        "expect knative-serving (Gateway knative-serving/knative-local-gateway). Default knative-serving.",
    )
    high_availability_replicas: int = Field(
        1, ge=1, le=10,
        description="Replicas of Knative's control-plane deployments (KnativeServing spec.high-availability.replicas). "
        "Default 1.",
    )
    progress_deadline_s: int = Field(
        600, ge=60, le=3600,
        description="Seconds a revision may take to become ready (config-deployment progress-deadline). "
        "Default 600, Kubeflow's value: large models start slowly (upstream default 120).",
    )
