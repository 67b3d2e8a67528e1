"""Issue 13 item 2: the data services accept connections only from their wired consumers and operators.

Also checks docs/network-policies.md against what the stacks synthesize.
"""

from __future__ import annotations

import re

import pytest
from tests.conftest import ROOT, release, release_address, resources
from tests.unit.test_auth import namespace_of

ENVS = ["dev", "staging", "prod", "local"]


def policies(stack) -> dict[tuple[str, str], dict]:
    """(namespace, name) → spec of every NetworkPolicy kfstack creates."""
    out = {}
    for r in resources(stack, "kubernetes_network_policy_v1").values():
        out[(namespace_of(stack, r["metadata"]["namespace"]), r["metadata"]["name"])] = r["spec"]
    return out


def _from_namespaces(spec) -> set[str]:
    names: set[str] = set()
    for rule in spec.get("ingress", []):
        for peer in rule["from"]:
            for expr in peer.get("namespace_selector", {}).get("match_expressions", []):
                assert expr["key"] == "kubernetes.io/metadata.name" and expr["operator"] == "In"
                names.update(expr["values"])
    return names


@pytest.mark.parametrize("env", ENVS)
def test_mysql_accepts_only_its_pods_the_operator_and_wired_clients(synth_env, env):
    pol = policies(synth_env(env))
    assert pol[("mysql", "kfstack-default-deny-ingress")] == {"pod_selector": {}, "policy_types": ["Ingress"]}
    assert pol[("mysql", "kfstack-allow-same-namespace")]["ingress"] == [{"from": [{"pod_selector": {}}]}]
    assert _from_namespaces(pol[("mysql", "kfstack-allow-operator")]) == {"mysql-operator"}
    clients = pol[("mysql", "kfstack-allow-clients")]
    assert _from_namespaces(clients) == {"kubeflow"}  # Pipelines and Katib
    assert [p.get("port") for p in clients["ingress"][0]["ports"]] == ["3306", "33060", "6446"]
    assert {k for (ns, k) in pol if ns == "mysql"} == {"kfstack-default-deny-ingress", "kfstack-allow-same-namespace",
                                                       "kfstack-allow-operator", "kfstack-allow-clients"}


@pytest.mark.parametrize("env", ENVS)
def test_object_store_accepts_only_its_pods_and_wired_clients_on_s3(synth_env, env):
    pol = policies(synth_env(env))
    assert pol[("object-store", "kfstack-default-deny-ingress")]["pod_selector"] == {}
    s3 = pol[("object-store", "kfstack-allow-s3-clients")]
    assert _from_namespaces(s3) == {"kubeflow"}
    (rule,) = s3["ingress"]
    assert {"namespace_selector": {"match_labels": {"app.kubernetes.io/part-of": "kubeflow-profile"}}} in rule["from"]
    assert rule["ports"] == [{"port": "8333", "protocol": "TCP"}]  # seaweedfs S3 (and IAM) pod port


def test_a_component_switched_off_loses_access(synth_config):
    stack = synth_config({"components": {"katib": {"enabled": False}, "pipelines": {"enabled": False},
                                         "kserve": {"enabled": False}}})
    pol = policies(stack)
    assert ("mysql", "kfstack-allow-clients") not in pol  # nobody wired: deny stands
    assert ("object-store", "kfstack-allow-s3-clients") not in pol
    assert ("mysql", "kfstack-allow-operator") in pol


def test_ceph_rgw_isolates_only_its_gateway_pods(synth_config):
    stack = synth_config({"components": {"object_store": {"backend": "ceph-rgw"}}}, base_env="local")
    pol = policies(stack)
    ceph_ns = {ns for (ns, name) in pol if name == "kfstack-allow-s3-clients"}
    assert ceph_ns == {"rook-ceph"}
    deny = pol[("rook-ceph", "kfstack-default-deny-ingress")]
    assert deny["pod_selector"]["match_labels"]["app"] == "rook-ceph-rgw"
    assert pol[("rook-ceph", "kfstack-allow-s3-clients")]["ingress"][0]["ports"] == [{"port": "8080", "protocol": "TCP"}]


def test_docs_list_the_policies_each_namespace_gets(synth_env):
    """docs/network-policies.md names every policy of the mysql and object-store namespaces."""
    text = (ROOT / "docs" / "network-policies.md").read_text()
    documented: dict[str, set[str]] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        m = re.match(r"Namespace `([a-z0-9-]+)`", section)
        names = set(re.findall(r"^\| `(kfstack-[a-z0-9-]+)` \|", section, flags=re.M))
        if m and names:   # the `kubeflow` section lists upstream's policies (checked by the conformance tier)
            documented[m.group(1)] = names
    for env in ENVS:
        synthesized: dict[str, set[str]] = {}
        for ns, name in policies(synth_env(env)):
            synthesized.setdefault(ns, set()).add(name)
        assert synthesized == documented, env


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_kubeflow_namespace_gets_upstreams_policies_before_any_application(synth_env, env):
    """Upstream's kubeflow namespace policies (sources.lock kustomize `kubeflow-namespace`, Kubeflow line
    26.03) are one release in `kubeflow`, and every component's namespace waits for it (baseline ready)."""
    stack = synth_env(env)
    policies = release(stack, "kubeflow-namespace")
    assert policies["chart"] == "kubeflow-namespace"
    assert "ClusterBaseline_Namespace-kubeflow" in policies["namespace"]
    address = release_address(stack, "kubeflow-namespace")
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert address in nss["cert-manager"]["depends_on"]


def test_kubeflow_namespace_policies_can_be_switched_off(synth_config):
    stack = synth_config({"components": {"cluster_baseline": {"kubeflow_network_policies": False}}})
    assert not [r for r in resources(stack, "helm_release").values() if r["name"] == "kubeflow-namespace"]


def test_kubeflow_namespace_policies_need_the_kubeflow_namespace(lock):
    """Reported with the other wiring problems (all at once), at the flag's own key path."""
    from tests.fixtures.envs import minimal_env

    shared = {"shared_namespaces": [{"name": "ml-shared"}]}
    env = minimal_env(lock, {"components": {"istio": {"enabled": False}, "cluster_baseline": shared}})
    problems = env.components.wiring_problems()
    assert [loc for loc, _ in problems] == [("cluster_baseline", "kubeflow_network_policies")]
    assert "installs upstream's policies of the namespace 'kubeflow'" in problems[0][1]
    off = minimal_env(lock, {"components": {"istio": {"enabled": False},
                                            "cluster_baseline": {**shared, "kubeflow_network_policies": False}}})
    assert off.components.wiring_problems() == []
