"""Addon test setup.

``mitmproxy.test.taddons`` imports mitmproxy's bundled addons, and ``proxyauth`` imports
``ldap3``, which warns (DeprecationWarning from pyasn1 names) at import time. The warning is
silenced here for that one import (pytest turns warnings into errors); later imports reuse the
loaded modules.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="ldap3.*")
    import mitmproxy.test.taddons  # noqa: F401
