import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from edge.certs import CertError, main, make_ca, make_leaf


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _split(pem_path: Path) -> tuple[object, x509.Certificate, x509.Certificate]:
    data = pem_path.read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    leaf, ca = x509.load_pem_x509_certificates(data)
    return key, leaf, ca


def _verifier(ca_path: Path, subject: x509.DNSName | x509.IPAddress):
    store = Store([x509.load_pem_x509_certificate(ca_path.read_bytes())])
    return PolicyBuilder().store(store).build_server_verifier(subject)


@pytest.mark.parametrize(
    ("hosts", "ips", "subject"),
    [
        (["a.test"], [], x509.DNSName("a.test")),
        (["a.test", "b.test"], [], x509.DNSName("b.test")),
        (["*.shop.test"], [], x509.DNSName("www.shop.test")),
        (["a.test"], ["127.0.0.1"], x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
    ],
)
def test_leaf_verifies_against_ca_for_each_name(tmp_path, hosts, ips, subject):
    ca_cert, _ = make_ca(tmp_path / "tls")
    pem = make_leaf(tmp_path / "tls", hosts, ips)
    _, leaf, chain_ca = _split(pem)
    _verifier(ca_cert, subject).verify(leaf, [])
    assert chain_ca == x509.load_pem_x509_certificate(ca_cert.read_bytes())


def test_leaf_does_not_verify_for_other_names(tmp_path):
    ca_cert, _ = make_ca(tmp_path)
    _, leaf, _ = _split(make_leaf(tmp_path, ["a.test"]))
    with pytest.raises(VerificationError):
        _verifier(ca_cert, x509.DNSName("evil.test")).verify(leaf, [])


def test_leaf_holds_the_sans_and_the_matching_key(tmp_path):
    make_ca(tmp_path)
    key, leaf, _ = _split(make_leaf(tmp_path, ["A.Test", "b.test"], ["127.0.0.1", "::1"]))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.test", "b.test"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert key.public_key() == leaf.public_key()  # type: ignore[attr-defined]


def test_validity_periods(tmp_path):
    ca_path, _ = make_ca(tmp_path)
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    _, leaf, _ = _split(make_leaf(tmp_path, ["a.test"]))
    ca_days = (ca.not_valid_after_utc - ca.not_valid_before_utc).days
    leaf_days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    assert 3649 <= ca_days <= 3651
    assert 396 <= leaf_days <= 398


def test_private_files_are_0600_and_folder_0700(tmp_path):
    folder = tmp_path / "new" / "tls"
    ca_cert, ca_key = make_ca(folder)
    leaf = make_leaf(folder, ["a.test"])
    assert _mode(folder) == 0o700
    assert _mode(ca_key) == 0o600
    assert _mode(leaf) == 0o600
    assert _mode(ca_cert) == 0o644


def test_rewriting_an_open_key_file_tightens_its_mode(tmp_path):
    make_ca(tmp_path)
    leaf = tmp_path / "a.test.pem"
    leaf.write_text("old")
    leaf.chmod(0o644)
    make_leaf(tmp_path, ["a.test"])
    assert _mode(leaf) == 0o600


def test_make_ca_reuses_an_existing_ca(tmp_path):
    first, _ = make_ca(tmp_path)
    serial = x509.load_pem_x509_certificate(first.read_bytes()).serial_number
    second, _ = make_ca(tmp_path)
    assert x509.load_pem_x509_certificate(second.read_bytes()).serial_number == serial


@pytest.mark.parametrize(
    ("hosts", "ips", "message"),
    [
        ([], [], "at least one hostname"),
        (["bad host"], [], "not a valid DNS name"),
        (["-a.test"], [], "not a valid DNS name"),
        (["a..test"], [], "not a valid DNS name"),
        (["a.*.test"], [], "not a valid DNS name"),
        (["a.test"], ["300.1.1.1"], "not a valid IP address"),
    ],
)
def test_bad_names_raise_cert_error(tmp_path, hosts, ips, message):
    make_ca(tmp_path)
    with pytest.raises(CertError, match=message):
        make_leaf(tmp_path, hosts, ips)


def test_leaf_without_ca_raises(tmp_path):
    with pytest.raises(CertError, match="no CA"):
        make_leaf(tmp_path, ["a.test"])


def test_main_writes_ca_and_leaf(tmp_path, capsys):
    out = tmp_path / "certs"
    argv = ["--out", str(out), "--host", "a.test", "--host", "b.test", "--ip", "127.0.0.1"]
    assert main(argv) == 0
    _, leaf, _ = _split(out / "a.test.pem")
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.test", "b.test"]
    assert (out / "ca.pem").exists()
    assert "b.test=" in capsys.readouterr().out


def test_main_reports_bad_input_with_status_2(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--host", "bad host"]) == 2
    assert "not a valid DNS name" in capsys.readouterr().err
