"""Local TLS material for the edge: a private CA and leaf certificates for demo hostnames.

``make_ca(folder)`` writes ``ca.pem`` (certificate, 0644) and ``ca-key.pem`` (key, 0600) and
returns their paths; when the folder already holds a CA it is reused, so a CA the user has
trusted survives re-runs. ``make_leaf(folder, hostnames, ips=())`` signs one EC P-256 leaf
for all the given DNS names (and IP addresses) with that CA and writes ``<first-host>.pem``
(0600) holding, in order, the private key, the leaf and the CA certificate: the single-file
format mitmproxy's ``--certs host=path.pem`` option reads. Folders are created 0700.

Errors: every failure this module detects is a ``CertError`` (a ``ValueError``): a bad
hostname or IP address, or a folder without a CA when a leaf is asked for. ``main`` turns
them into exit status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CA_DAYS = 3650
LEAF_DAYS = 397  # browsers refuse leaves valid for more than 398 days
_BACKDATE = dt.timedelta(hours=1)  # tolerate small clock skew between machines
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


class CertError(ValueError):
    """Bad input for certificate generation, or a missing CA."""


def make_ca(folder: str | Path) -> tuple[Path, Path]:
    """Create (or reuse) the local CA in `folder`; return ``(ca_cert_path, ca_key_path)``."""
    root = _ensure_folder(Path(folder))
    cert_path, key_path = root / CA_CERT, root / CA_KEY
    if cert_path.exists() and key_path.exists():
        _load_ca(root)  # fail early on a corrupt pair
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "audience-edge"),
            x509.NameAttribute(NameOID.COMMON_NAME, "audience-edge local CA"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert_path, key_path


def make_leaf(folder: str | Path, hostnames: Sequence[str], ips: Sequence[str] = ()) -> Path:
    """Sign a server certificate for `hostnames` (+ `ips`) with the CA in `folder`.

    Returns the path of the PEM holding key + leaf + CA certificate.
    """
    hosts = [_check_hostname(h) for h in hostnames]
    if not hosts:
        raise CertError("at least one hostname is needed")
    addresses = [_check_ip(ip) for ip in ips]
    root = _ensure_folder(Path(folder))
    ca_cert, ca_key = _load_ca(root)
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    san += [x509.IPAddress(a) for a in addresses]
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = _key_pem(key) + b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca_cert)
    )
    path = root / (hosts[0].replace("*", "wildcard") + ".pem")
    _write(path, pem, private=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """`edge certs --out DIR --host a.test [--host b.test] [--ip 127.0.0.1]`."""
    parser = argparse.ArgumentParser(
        prog="edge certs", description="Make a local CA and a server certificate for the edge."
    )
    parser.add_argument("--out", required=True, help="folder for the CA and certificates")
    parser.add_argument("--host", action="append", required=True, help="DNS name (repeatable)")
    parser.add_argument("--ip", action="append", default=[], help="IP address SAN (repeatable)")
    args = parser.parse_args(argv)
    try:
        ca_cert, _ = make_ca(args.out)
        leaf = make_leaf(args.out, args.host, args.ip)
    except CertError as exc:
        print(f"edge certs: {exc}", file=sys.stderr)
        return 2
    print(f"CA certificate (trust it in your browser): {ca_cert}")
    print(f"server key + certificate chain: {leaf}")
    for host in args.host:
        print(f"  mitmproxy --certs '{host}={leaf}'")
    return 0


def _check_hostname(host: str) -> str:
    name = host.strip().lower().rstrip(".")
    if len(name) > 253 or _HOSTNAME_RE.fullmatch(name) is None:
        raise CertError(f"not a valid DNS name: {host!r}")
    return name


def _check_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise CertError(f"not a valid IP address: {value!r}") from None


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _load_ca(root: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((root / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((root / CA_KEY).read_bytes(), password=None)
    except FileNotFoundError:
        raise CertError(f"no CA in {root}: make the CA first") from None
    except ValueError as exc:
        raise CertError(f"unreadable CA in {root}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertError(f"the CA key in {root} is not an EC key")
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ensure_folder(root: Path) -> Path:
    if not root.exists():
        root.mkdir(mode=0o700, parents=True)
        root.chmod(0o700)  # mkdir's mode is masked by the umask
    elif not root.is_dir():
        raise CertError(f"not a folder: {root}")
    return root


def _write(path: Path, data: bytes, *, private: bool) -> None:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), mode)  # an existing file keeps its old mode otherwise
        out.write(data)
