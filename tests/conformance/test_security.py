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


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist)
    selects ``labels``."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def test_selector_matching_used_below():
    sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["ml-pipeline"]}]}
    assert _selects(sel, {"app": "ml-pipeline", "x": "y"}) and not _selects(sel, {"app": "ml-pipeline-ui"})
    assert _selects({}, {"any": "pod"}) and not _selects({"matchLabels": {"a": "b"}}, {})


# Upstream policies (kubeflow/manifests 26.03 common/kubeflow-namespace/base/kubeflow) of the applications
# prod installs; each must select the pods kfstack installs, or their clients would be cut off.
PROD_APP_POLICIES = ("centraldashboard", "ml-pipeline", "ml-pipeline-ui", "metadata-grpc-server", "cache-server",
                     "katib-controller", "katib-db-manager", "katib-ui", "kserve", "training-operator-webhook")


def test_prod_kubeflow_namespace_gets_upstreams_network_policies_and_they_select_kfstacks_pods(
        synthesized, vendored, helm):
    """The real ``kubeflow-namespace`` part renders upstream's NetworkPolicies into ``kubeflow``; every
    per-application allow-list of an application prod installs selects at least one pod template that
    the real charts (and kfstack's own Deployments, e.g. Katib's DB manager) put into ``kubeflow``."""
    import json

    from kfstack.check.charts import ChartLocator
    from kfstack.check.stack import kubernetes_objects

    vendor, _ = vendored
    locator = ChartLocator([vendor / "published", vendor / "charts"])
    stack = _prod(synthesized)
    in_kubeflow = [r for r in stack.releases if r.namespace == "kubeflow"]
    policies_release = next(r for r in in_kubeflow if r.chart == "kubeflow-namespace")
    rendered = render(policies_release, locator.locate(policies_release.chart, policies_release.version).path)
    policies = {o["metadata"]["name"]: o["spec"] for o in rendered.objects if o["kind"] == "NetworkPolicy"}
    assert {o["kind"] for o in rendered.objects} == {"NetworkPolicy"}, "only policies: kfstack creates the Namespace"
    assert policies["default-allow-same-namespace"]["podSelector"] == {}
    assert set(PROD_APP_POLICIES) <= set(policies), sorted(set(PROD_APP_POLICIES) - set(policies))

    pod_labels: list[dict[str, str]] = []
    for release in in_kubeflow:
        chart = release.local_path or locator.locate(release.chart, release.version).path
        for obj in render(release, chart).objects:
            template = (obj.get("spec") or {}).get("template") or {}
            if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet") and template:
                pod_labels.append((template.get("metadata") or {}).get("labels") or {})
    doc = json.loads((synthesized / "stacks" / "prod" / "cdk.tf.json").read_text())
    for obj in kubernetes_objects(doc):
        if obj["kind"] == "deployment":
            pod_labels.append((obj["spec"].get("template") or {}).get("metadata", {}).get("labels") or {})
    unmatched = [name for name in PROD_APP_POLICIES
                 if not any(_selects(policies[name]["podSelector"], labels) for labels in pod_labels)]
    assert not unmatched, f"upstream policies selecting no pod of prod's kubeflow namespace: {unmatched}"
