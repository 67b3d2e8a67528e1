"""Security defaults of prod, confirmed on what the real charts render (issue: secure by default).

The scratch-cluster check (test_conformance.py) already has the API server
accept these objects against the real Istio and cert-manager CRDs; here the
content is asserted: HTTPS at the gateway, NetworkPolicies in the data
namespaces, and no namespace below its documented Pod Security level.
"""

from __future__ import annotations

from kfstack.check.render import render
from kfstack.check.stack import load_stack
from kfstack.model import PodSecurityLevel

ORDER = [PodSecurityLevel.privileged, PodSecurityLevel.baseline, PodSecurityLevel.restricted]
DOCUMENTED = {"kubeflow": PodSecurityLevel.restricted, "auth": PodSecurityLevel.restricted,
              "oauth2-proxy": PodSecurityLevel.restricted, "cert-manager": PodSecurityLevel.restricted,
              "mysql": PodSecurityLevel.baseline, "object-store": PodSecurityLevel.baseline}
"""Levels Kubeflow 26.03 enforces (kubeflow: restricted) and kfstack documents for its data namespaces."""


def _prod(synthesized):
    return load_stack(synthesized / "stacks" / "prod" / "cdk.tf.json", "prod")


def test_prod_gateway_serves_https_for_its_hostname_and_redirects_http(synthesized, helm):
    stack = _prod(synthesized)
    gateway_release = next(r for r in stack.releases if r.name == "kubeflow-gateway")
    (gateway,) = [o for o in render(gateway_release, gateway_release.local_path).objects if o["kind"] == "Gateway"]
    servers = gateway["spec"]["servers"]
    https = [s for s in servers if s["port"]["number"] == 443]
    assert https and all(s["port"]["protocol"] == "HTTPS" and s["tls"]["mode"] == "SIMPLE"
                         and s["tls"]["credentialName"] for s in https)
    assert "kubeflow.prod.internal" in https[0]["hosts"] and "*" not in https[0]["hosts"]
    plain = [s for s in servers if s["port"]["number"] == 80]
    assert plain and all(s["tls"]["httpsRedirect"] is True for s in plain)
    cert_release = next(r for r in stack.releases if r.name == "kubeflow-gateway-tls")
    (cert,) = [o for o in render(cert_release, cert_release.local_path).objects if o["kind"] == "Certificate"]
    assert cert["spec"]["secretName"] == https[0]["tls"]["credentialName"]
    assert cert["spec"]["issuerRef"]["kind"] == "ClusterIssuer" and "self" not in cert["spec"]["issuerRef"]["name"]


def test_prod_data_namespaces_deny_ingress_by_default(synthesized):
    import json

    doc = json.loads((synthesized / "stacks" / "prod" / "cdk.tf.json").read_text())
    stack = _prod(synthesized)
    ns_by_ref = {f"${{kubernetes_namespace_v1.{o.address.split('.', 1)[1]}.metadata[0].name}}": o.name
                 for o in stack.namespaces()}
    policies: dict[str, set[str]] = {}
    for res in doc["resource"]["kubernetes_network_policy_v1"].values():
        meta = res["metadata"]
        policies.setdefault(ns_by_ref.get(meta["namespace"], meta["namespace"]), set()).add(meta["name"])
    for ns in ("mysql", "object-store"):
        assert "kfstack-default-deny-ingress" in policies.get(ns, set()), (ns, policies)


def test_no_prod_namespace_below_its_documented_pod_security_level(synthesized):
    levels = {o.name: PodSecurityLevel(o.labels["pod-security.kubernetes.io/enforce"])
              for o in _prod(synthesized).namespaces()}
    for ns, minimum in DOCUMENTED.items():
        assert ORDER.index(levels[ns]) >= ORDER.index(minimum), (ns, levels[ns], minimum)
