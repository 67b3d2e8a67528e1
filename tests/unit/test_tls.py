"""Issue 13 item 1: HTTPS at the Kubeflow gateway.

A cert-manager Certificate (through the raw-manifests chart, never kubernetes_manifest) in
the ingress gateway's namespace, port 443 for the environment's hostname, port 80 redirecting,
oauth2-proxy's Secure cookies; the issuer is the site's, the self-signed one only in
development; production requires TLS.

Stacks are minimal environments built in the test (tests/fixtures/envs.py), not the shipped files.
"""

from __future__ import annotations

import pytest

from kfstack.constructs.auth import construct as auth
from kfstack.constructs.istio.construct import SITE_CA_ISSUER, TLS_SECRET
from tests.conftest import release, release_values, resources
from tests.fixtures.envs import enable, load_minimal, merged
from tests.unit.test_bad_inputs import load_fixture

HOSTNAME = "kubeflow.fixture.internal"
MODELS = "models.fixture.internal"
ISSUERS = {"self-signed": ({}, "kubeflow-self-signing-issuer"),   # development only
           "site-issuer": ({"cluster_issuer": "internal-ca"}, "internal-ca")}


def _tls(issuer: dict, *keys: str, **settings: dict) -> dict:
    """``enable(*keys)`` with TLS at the gateway for :data:`HOSTNAME` (``issuer`` adds the site's issuer) and KServe's
    URLs under :data:`MODELS`."""
    return merged(enable(*keys, **settings), {"components": {"istio": {"tls": {"hostname": HOSTNAME, **issuer}},
                                                               "kserve": {"ingress_domain": MODELS}}})


def _gateway(stack):
    (gateway,) = release_values(stack, "kubeflow-gateway")["manifests"]
    return gateway


@pytest.mark.parametrize("issuer", ISSUERS)
def test_gateway_serves_https_for_the_hostname_and_redirects_http(synth_minimal, issuer):
    hosts = [HOSTNAME, f"*.{MODELS}"]  # KServe's URLs share the gateway
    http, https = _gateway(synth_minimal(_tls(ISSUERS[issuer][0], "kserve")))["spec"]["servers"]
    assert http == {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts,
                    "tls": {"httpsRedirect": True}}
    assert https == {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": hosts,
                     "tls": {"mode": "SIMPLE", "credentialName": TLS_SECRET, "minProtocolVersion": "TLSV1_2"}}


def test_without_kserve_the_gateway_serves_the_hostname_only(synth_minimal):
    stack = synth_minimal(_tls({}, kserve={"enabled": False}))
    http, https = _gateway(stack)["spec"]["servers"]
    assert http["hosts"] == https["hosts"] == [HOSTNAME]
    (cert,) = release_values(stack, "kubeflow-gateway-tls")["manifests"]
    assert cert["spec"]["dnsNames"] == [HOSTNAME]


@pytest.mark.parametrize("tls", ISSUERS)
def test_certificate_from_cert_manager_through_raw_manifests(synth_minimal, tls):
    settings, issuer = ISSUERS[tls]
    stack = synth_minimal(_tls(settings, "kserve"))
    rel = release(stack, "kubeflow-gateway-tls")
    assert rel["chart"].startswith("assets/Istio_Certificate_Chart_")  # this project's raw-manifests chart
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.Istio_Namespace_")
    (cert,) = release_values(stack, "kubeflow-gateway-tls")["manifests"]
    assert cert["apiVersion"] == "cert-manager.io/v1" and cert["kind"] == "Certificate"
    assert cert["metadata"]["namespace"] == "istio-system"  # where the ingress gateway reads credentialName
    assert cert["spec"]["secretName"] == TLS_SECRET
    assert cert["spec"]["dnsNames"] == [HOSTNAME, f"*.{MODELS}"]
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer}
    assert "kubernetes_manifest" not in stack.get("resource", {})
    # The Gateway waits for its certificate; the certificate for cert-manager's CRDs.
    gateway_deps = release(stack, "kubeflow-gateway")["depends_on"]
    assert any("Istio_Certificate" in d for d in gateway_deps)
    assert any("CertManager" in d for d in rel["depends_on"])


def test_a_site_ca_secret_becomes_a_ca_cluster_issuer(synth_minimal):
    stack = synth_minimal({"components": {"istio": {"tls": {"hostname": "kf.example.org", "ca_secret": "site-ca"}}}})
    issuer, cert = release_values(stack, "kubeflow-gateway-tls")["manifests"]
    assert issuer["kind"] == "ClusterIssuer" and issuer["metadata"]["name"] == SITE_CA_ISSUER
    assert issuer["spec"] == {"ca": {"secretName": "site-ca"}}
    assert cert["spec"]["issuerRef"]["name"] == SITE_CA_ISSUER


def test_without_tls_the_gateway_is_plain_http_for_any_host(synth_minimal):
    stack = synth_minimal(enable("auth", "kserve", istio={"tls": {"enabled": False}}, kserve={"ingress_domain": MODELS}))
    (server,) = _gateway(stack)["spec"]["servers"]
    assert server == {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
    assert "kubeflow-gateway-tls" not in {r["name"] for r in resources(stack, "helm_release").values()}
    assert _proxy_parameters(stack)["FORCE_HTTPS"] == "false"


def _proxy_parameters(stack):
    (cm,) = [r for r in resources(stack, "kubernetes_config_map_v1").values()
             if r["metadata"]["name"] == auth.OAUTH2_PROXY_PARAMETERS]
    return cm["data"]


@pytest.mark.parametrize("issuer", ISSUERS)
def test_oauth2_proxy_cookies_are_secure_behind_https(synth_minimal, issuer):
    stack = synth_minimal(_tls(ISSUERS[issuer][0], "auth"))
    params = _proxy_parameters(stack)
    assert params["FORCE_HTTPS"] == "true" and params["ALLOW_SELF_SIGNED_ISSUER"] == "false"
    # It replaces upstream's ConfigMap of that name (sources.lock exclude), before oauth2-proxy starts.
    (proxy,) = [r for r in resources(stack, "helm_release").values() if r["name"] == "oauth2-proxy"]
    assert any("Auth_ProxyParameters" in d for d in proxy["depends_on"])


def test_replaced_upstream_objects_match_sources_lock():
    from kfstack.sources.lock import load_lock
    from tests.conftest import ROOT

    lock = load_lock(ROOT / "sources.lock")
    pins = {p.name: p for p in lock.kustomize}
    for base, objects in auth.EXCLUDED.items():
        assert set(objects) <= set(pins[base].exclude), base


@pytest.mark.parametrize(("fixture", "path", "needle"), [
    ("prod.error.tls-disabled.yaml", ("components", "istio", "tls", "enabled"), "production serves Kubeflow over HTTPS"),
    ("prod.error.tls-self-signed.yaml", ("components", "istio", "tls"), "the self-signing issuer is for tier development"),
    ("dev.error.tls-without-hostname.yaml", ("components", "istio", "tls"), "TLS needs hostname"),
    ("dev.error.tls-without-cert-manager.yaml", ("components", "istio", "tls", "enabled"), "cert-manager Certificate"),
])
def test_tls_refusals_are_in_the_corpus(tmp_path, fixture, path, needle):
    from kfstack.config import ConfigError
    from tests.unit.test_bad_inputs import CORPUS

    with pytest.raises(ConfigError) as info:
        load_fixture(tmp_path, CORPUS / fixture)
    assert any(p.path == path and needle in p.message for p in info.value.problems), info.value


def test_staging_with_self_signed_tls_is_refused(tmp_path, lock):
    from kfstack.config import ConfigError

    with pytest.raises(ConfigError) as info:  # no cluster_issuer, no ca_secret: the self-signing issuer
        load_minimal(tmp_path, lock, {}, {"tier": "staging",
                                          "components": {"istio": {"tls": {"hostname": "kubeflow.staging.internal"}}}},
                     name="staging")
    assert any("tier staging needs a certificate" in p.message for p in info.value.problems)
