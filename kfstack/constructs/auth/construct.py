"""Auth construct: Dex (OIDC provider) → oauth2-proxy (Istio external authorizer).

Sources (kustomize-only upstream; kubeflow/manifests 26.03, pinned in sources.lock):

- ``dex`` 2.45.0 = ``common/dex/overlays/oauth2-proxy``: namespace ``auth``,
  Deployment ``dex`` (``ghcr.io/dexidp/dex:v2.45.0``) reading ``/etc/dex/cfg/config.yaml``
  from ConfigMap ``dex`` and env from Secrets ``dex-oidc-client`` (``OIDC_CLIENT_ID``,
  ``OIDC_CLIENT_SECRET``) and ``dex-passwords`` (``DEX_USER_PASSWORD``, the bcrypt hash the
  config names in ``staticPasswords[].hashFromEnv``); VirtualService ``/dex/`` on
  ``kubeflow/kubeflow-gateway``; NetworkPolicies.
- ``oauth2-proxy`` 7.14.3 = ``common/oauth2-proxy/overlays/m2m-dex-only``: namespace
  ``oauth2-proxy``, Deployment reading ``client-id``, ``client-secret`` and ``cookie-secret``
  from Secret ``oauth2-proxy-h675gf55ht`` (see :data:`OAUTH2_PROXY_SECRET`); in
  ``istio-system`` the AuthorizationPolicies ``istio-ingressgateway-oauth2-proxy`` (CUSTOM,
  provider ``oauth2-proxy``) and ``istio-ingressgateway-require-jwt`` (DENY without a
  verified JWT) and RequestAuthentication ``dex-jwt`` (issuer :data:`DEX_ISSUER`, claims
  ``email``/``groups`` → headers ``kubeflow-userid``/``kubeflow-groups``), all selecting
  ``app: istio-ingressgateway``, the label kfstack's ingress gateway carries.

Upstream ships well-known credentials: Dex's ``dex-passwords`` holds a bcrypt hash of
``12341234`` and ``dex-oidc-client`` / oauth2-proxy's Secret a static client secret and
cookie secret. sources.lock ``exclude`` removes those objects (and the upstream ConfigMap
``dex``, which hard-codes the user, and both Namespaces, which kfstack creates with Pod
Security labels); this construct creates the replacements under the same names, so
upstream's Deployments are used unmodified:

- ``random_password`` ``UserPassword``; Dex gets only its ``bcrypt_hash`` attribute
  (random provider 3.7.2: computed once at create and kept in state, so plans stay
  empty — unlike Terraform's ``bcrypt()``, which salts anew on every plan);
- ``random_password`` ``ClientSecret`` (shared by Dex and oauth2-proxy) and ``CookieSecret``
  (32 characters = 32 bytes, an AES-256 key as oauth2-proxy requires 16, 24 or 32);
- Secret ``auth/kubeflow-initial-user`` (``email``, ``password``) for the administrator::

      kubectl -n auth get secret kubeflow-initial-user -o jsonpath='{.data.password}' | base64 -d

The mesh side (``meshConfig.extensionProviders`` entry ``oauth2-proxy``) is istiod's
configuration: the pure value ``AuthSettings.authorizer`` is handed to the Istio construct, which
is installed first. This construct exports the same provider with its ``ready`` as
:attr:`Auth.authorizer`, for what needs oauth2-proxy serving.
"""

from __future__ import annotations

from typing import Any, Sequence

import yaml
from kfstack.cdk import (
    ConfigMapV1, ConfigMapV1Metadata, Construct, ITerraformDependable, Password, SecretV1, SecretV1Metadata,
)

from kfstack.constructs.auth.settings import OAUTH2_PROXY_NAMESPACE, AuthSettings
from kfstack.constructs.core import ClusterHandle, Namespace
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import AuthorizerRef, NamespaceRef, UserRef
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

DEX_NAMESPACE = "auth"
"""Upstream's Dex namespace; part of :data:`DEX_ISSUER`, so not a setting."""
DEX_PORT = 5556
DEX_ISSUER = f"http://dex.{DEX_NAMESPACE}.svc.cluster.local:{DEX_PORT}/dex"
"""Dex's issuer, as upstream's oauth2_proxy.cfg and RequestAuthentication ``dex-jwt`` expect it."""
OIDC_CLIENT_ID = "kubeflow-oidc-authservice"
"""Client id upstream's oauth2-proxy and Dex share (not a secret)."""
DEX_STATIC_USER_ID = "15841185641784"
"""``staticPasswords[0].userID`` (JWT ``sub``) of upstream's config; Kubeflow keys users by ``email``."""

DEX_CONFIG_MAP = "dex"
DEX_PASSWORDS_SECRET = "dex-passwords"
DEX_CLIENT_SECRET = "dex-oidc-client"
DEX_PASSWORD_ENV = "DEX_USER_PASSWORD"
OAUTH2_PROXY_SECRET = "oauth2-proxy-h675gf55ht"
OAUTH2_PROXY_PARAMETERS = "oauth2-proxy-parameters-74659b6648"
"""ConfigMap (kustomize's hashed name, upstream ``common/oauth2-proxy/base`` configMapGenerator
``oauth2-proxy-parameters``) the Deployment reads its switches from; replaced by kfstack so that
``FORCE_HTTPS`` (oauth2-proxy ``--cookie-secure``) follows the gateway's TLS."""
"""Name of oauth2-proxy's Secret in the 26.03 render: upstream's ``secretGenerator``
(``common/oauth2-proxy/base/kustomization.yaml``) appends kustomize's content hash, and the
Deployment's ``secretKeyRef`` names that hashed Secret. kfstack excludes upstream's Secret and
creates its own under this name; the exclude entry fails the render if the hash ever changes."""
UPSTREAM_GATEWAY_SELECTOR = {"app": "istio-ingressgateway"}
"""Labels upstream's AuthorizationPolicies and RequestAuthentication (oauth2-proxy overlay) select:
the Istio construct's ingress gateway must carry them."""
INITIAL_USER_SECRET = "kubeflow-initial-user"
"""Secret (namespace ``auth``) holding the initial user's ``email`` and plain ``password``."""

EXCLUDED = {
    "dex": (f"Namespace/{DEX_NAMESPACE}", f"ConfigMap/{DEX_NAMESPACE}/{DEX_CONFIG_MAP}",
            f"Secret/{DEX_NAMESPACE}/{DEX_PASSWORDS_SECRET}", f"Secret/{DEX_NAMESPACE}/{DEX_CLIENT_SECRET}"),
    "oauth2-proxy": (f"Namespace/{OAUTH2_PROXY_NAMESPACE}", f"Secret/{OAUTH2_PROXY_NAMESPACE}/{OAUTH2_PROXY_SECRET}",
                     f"ConfigMap/{OAUTH2_PROXY_NAMESPACE}/{OAUTH2_PROXY_PARAMETERS}"),
}
"""Upstream objects this construct replaces: the ``exclude`` lists of the two sources.lock entries."""


def dex_config(settings: AuthSettings) -> dict[str, Any]:
    """Dex's ``config.yaml``: upstream's (``common/dex/overlays/oauth2-proxy/config-map.yaml``)
    with kfstack's user and log level ``info`` (upstream: ``debug``). Secrets stay out of it: the
    password hash comes from env ``DEX_USER_PASSWORD`` (``hashFromEnv``), the client id/secret
    from ``OIDC_CLIENT_*``."""
    return {
        "issuer": DEX_ISSUER,
        "storage": {"type": "kubernetes", "config": {"inCluster": True}},
        "web": {"http": f"0.0.0.0:{DEX_PORT}"},
        "logger": {"level": "info", "format": "text"},
        "oauth2": {"skipApprovalScreen": True},
        "enablePasswordDB": True,
        "staticPasswords": [{
            "email": settings.user_email,
            "hashFromEnv": DEX_PASSWORD_ENV,
            "username": settings.user_name,
            "userID": DEX_STATIC_USER_ID,
        }],
        "staticClients": [{
            "idEnv": "OIDC_CLIENT_ID",
            "redirectURIs": ["/oauth2/callback"],
            "name": "Dex Login Application",
            "secretEnv": "OIDC_CLIENT_SECRET",
        }],
    }


def proxy_parameters(secure_cookies: bool) -> dict[str, str]:
    """oauth2-proxy's switches (the keys upstream's Deployment reads from :data:`OAUTH2_PROXY_PARAMETERS`).

    ``FORCE_HTTPS`` sets ``--cookie-secure``: the session cookie carries the Secure attribute and
    is only sent over HTTPS (on whenever the gateway serves HTTPS). ``ALLOW_SELF_SIGNED_ISSUER``
    (``--ssl-insecure-skip-verify``) is off: oauth2-proxy reaches Dex over in-cluster HTTP and
    verifies any HTTPS issuer. M2M tokens stay on with no extra issuer, as upstream's overlay has them.
    """
    return {"FORCE_HTTPS": "true" if secure_cookies else "false", "ALLOW_SELF_SIGNED_ISSUER": "false",
            "ENABLE_M2M_TOKENS": "true", "EXTRA_JWT_ISSUERS": ""}


def _password(scope: Construct, id_: str, length: int) -> Password:
    return Password(scope, id_, length=length, special=False, min_numeric=2, min_lower=2, min_upper=2)


def _secret(scope: Construct, id_: str, cluster: ClusterHandle, namespace: NamespaceRef, name: str,
            data: dict[str, str]) -> SecretV1:
    return SecretV1(scope, id_, provider=cluster.kubernetes,
                    metadata=SecretV1Metadata(name=name, namespace=namespace.name, labels=dict(MANAGED_BY)),
                    type="Opaque", data=dict(sorted(data.items())), depends_on=list(namespace.ready))


class Auth(Construct):
    """Dex and oauth2-proxy with generated credentials (see the module docstring).

    Example::

        dex, oauth2_proxy = AuthSettings.INSTALLS
        auth = Auth(stack, "Auth", cluster=baseline.handle, dex_source=ChartSource(resolver, "2.45.0", dex),
                    oauth2_proxy_source=ChartSource(resolver, "7.14.3", oauth2_proxy), settings=AuthSettings(),
                    depends_on=istio.ready)
        auth.user.email     # "user@example.com"; password in Secret auth/kubeflow-initial-user

    Args:
        depends_on: what must exist first (Istio: the AuthorizationPolicies and
            RequestAuthentication need its CRDs and gateway).
        secure_cookies: the gateway serves HTTPS, so oauth2-proxy's cookie is Secure. Default false.

    Attributes:
        dex, oauth2_proxy: the releases of each rendered base (:class:`KustomizeReleases`).
        user_password, client_secret, cookie_secret: the ``random_password`` resources.
        dex_config: ConfigMap ``auth/dex``; proxy_parameters: oauth2-proxy's switches
            (:func:`proxy_parameters`); dex_passwords, dex_client, proxy_secret,
            initial_user: the Secrets.
        user: :class:`UserRef` of the initial user, ready once Dex is.
        authorizer: :class:`AuthorizerRef`: the mesh's ext_authz provider (``settings.authorizer``),
            serving once oauth2-proxy's last release is applied (its AuthorizationPolicies ship in it).
        ready: oauth2-proxy's last release (login works once it is applied).

    Raises:
        SourceError: a base is not pinned, not vendored, or its exclude list is stale.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, dex_source: ChartSource,
                 oauth2_proxy_source: ChartSource, settings: AuthSettings,
                 depends_on: Sequence[ITerraformDependable] = (), secure_cookies: bool = False) -> None:
        super().__init__(scope, id_)
        timeout = settings.install_timeout_s
        self.dex_namespace = Namespace(self, "DexNamespace", cluster_provider=cluster.kubernetes,
                                       name=DEX_NAMESPACE, pod_security=PodSecurityLevel.restricted,
                                       depends_on=cluster.ready, mirror=cluster.mirror)
        self.proxy_namespace = Namespace(self, "ProxyNamespace", cluster_provider=cluster.kubernetes,
                                         name=OAUTH2_PROXY_NAMESPACE, pod_security=PodSecurityLevel.restricted,
                                         depends_on=cluster.ready, mirror=cluster.mirror)
        dex_ns, proxy_ns = self.dex_namespace.ref, self.proxy_namespace.ref

        self.user_password = _password(self, "UserPassword", settings.password_length)
        self.client_secret = _password(self, "ClientSecret", 32)
        self.cookie_secret = _password(self, "CookieSecret", 32)

        self.dex_config = ConfigMapV1(
            self, "DexConfig", provider=cluster.kubernetes,
            metadata=ConfigMapV1Metadata(name=DEX_CONFIG_MAP, namespace=dex_ns.name, labels=dict(MANAGED_BY)),
            data={"config.yaml": yaml.safe_dump(dex_config(settings), sort_keys=False, default_flow_style=False)},
            depends_on=list(dex_ns.ready))
        # Only the bcrypt hash reaches Dex; the plain password lives in state and in INITIAL_USER_SECRET.
        self.dex_passwords = _secret(self, "DexPasswords", cluster, dex_ns, DEX_PASSWORDS_SECRET,
                                     {DEX_PASSWORD_ENV: self.user_password.bcrypt_hash})
        self.dex_client = _secret(self, "DexClient", cluster, dex_ns, DEX_CLIENT_SECRET,
                                  {"OIDC_CLIENT_ID": OIDC_CLIENT_ID, "OIDC_CLIENT_SECRET": self.client_secret.result})
        self.initial_user = _secret(self, "InitialUser", cluster, dex_ns, INITIAL_USER_SECRET,
                                    {"email": settings.user_email, "password": self.user_password.result})
        self.proxy_secret = _secret(self, "ProxySecret", cluster, proxy_ns, OAUTH2_PROXY_SECRET,
                                    {"client-id": OIDC_CLIENT_ID, "client-secret": self.client_secret.result,
                                     "cookie-secret": self.cookie_secret.result})

        self.proxy_parameters = ConfigMapV1(
            self, "ProxyParameters", provider=cluster.kubernetes,
            metadata=ConfigMapV1Metadata(name=OAUTH2_PROXY_PARAMETERS, namespace=proxy_ns.name,
                                         labels=dict(MANAGED_BY)),
            data=proxy_parameters(secure_cookies), depends_on=list(proxy_ns.ready))

        self.dex = KustomizeReleases(
            self, "Dex", cluster=cluster, base="dex", charts=dex_source.kustomize("dex"), namespace=dex_ns,
            timeout_s=timeout,
            depends_on=[*depends_on, self.dex_config, self.dex_passwords, self.dex_client])
        self.oauth2_proxy = KustomizeReleases(
            self, "Oauth2Proxy", cluster=cluster, base="oauth2-proxy",
            charts=oauth2_proxy_source.kustomize("oauth2-proxy"), namespace=proxy_ns, timeout_s=timeout,
            depends_on=[self.dex.last, self.proxy_secret, self.proxy_parameters])
        self.user = UserRef(email=settings.user_email, password_secret=INITIAL_USER_SECRET,
                            password_secret_namespace=DEX_NAMESPACE, ready=(self.dex.last, self.initial_user))
        self.ready = (self.oauth2_proxy.last,)
        self.authorizer = AuthorizerRef(provider=settings.authorizer, ready=self.ready)
