"""The internal-call token: derived from the shared secret, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from edge.contracts import internal

SECRET = b"0123456789abcdef-internal"


def test_token_is_hmac_of_a_fixed_label() -> None:
    digest = hmac.new(SECRET, b"edge-internal-v1", hashlib.sha256).digest()
    assert internal.token(SECRET) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "=" not in internal.token(SECRET)


def test_token_depends_on_the_secret() -> None:
    assert internal.token(SECRET) == internal.token(SECRET)
    assert internal.token(SECRET) != internal.token(SECRET + b"x")


@pytest.mark.parametrize(
    ("presented", "ok"),
    [
        pytest.param(internal.token(SECRET), True, id="right"),
        pytest.param(internal.token(b"another-secret-0123"), False, id="other-secret"),
        pytest.param(internal.token(SECRET)[:-1], False, id="truncated"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="absent"),
        pytest.param(internal.token(SECRET)[:-1] + "é", False, id="non-ascii"),
    ],
)
def test_check(presented: str | None, ok: bool) -> None:
    assert internal.check(SECRET, presented) is ok


def test_paths() -> None:
    assert internal.VISITOR_PATH.startswith(internal.PATH_PREFIX)
