"""Certificates and keys for a local control plane (cryptography library).

Everything is issued by one self-signed CA valid for ``days`` days; keys are
EC P-256 except the service-account signing key (RSA 2048, what
kube-apiserver's ``--service-account-signing-key-file`` expects by default).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files of one local cluster (all under ``root``)."""

    root: Path

    def path(self, name: str) -> Path:
        """``<root>/<name>`` (e.g. ``ca.crt``, ``admin.key``)."""
        return self.root / name

    def exists(self) -> bool:
        """True when every file this module writes is present."""
        return all(self.path(n).is_file() for n in ("ca.crt", "ca.key", "apiserver.crt", "sa.key", "sa.pub",
                                                     "admin.crt", "controller-manager.crt", "scheduler.crt"))

    def create(self, *, days: int = 365) -> None:
        """Write CA, API server serving cert, client certs and the service-account key pair (0600 keys)."""
        self.root.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        until = now + dt.timedelta(days=days)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("kfstack-local-ca")
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(until)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False,
                                           encipher_only=False, decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        self._write("ca", ca, ca_key)

        def leaf(name: str, cn: str, org: str | None, server: bool) -> None:
            key = ec.generate_private_key(ec.SECP256R1())
            b = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(ca_name)
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now).not_valid_after(until)
                 .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                 .add_extension(x509.ExtendedKeyUsage(
                     [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                     critical=False))
            if server:
                b = b.add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
                    x509.DNSName("kubernetes.default.svc"), x509.DNSName("kubernetes.default.svc.cluster.local"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
                ]), critical=False)
            self._write(name, b.sign(ca_key, hashes.SHA256()), key)

        leaf("apiserver", "kube-apiserver", None, server=True)
        leaf("admin", "kfstack-admin", "system:masters", server=False)
        leaf("controller-manager", "system:kube-controller-manager", None, server=False)
        leaf("scheduler", "system:kube-scheduler", None, server=False)
        leaf("kwok", "kwok-controller", "system:masters", server=False)
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._secret(self.path("sa.key"), _key_pem(sa))
        self.path("sa.pub").write_bytes(sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def _write(self, name: str, cert: x509.Certificate, key) -> None:
        self.path(f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._secret(self.path(f"{name}.key"), _key_pem(key))

    @staticmethod
    def _secret(path: Path, data: bytes) -> None:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(data)
