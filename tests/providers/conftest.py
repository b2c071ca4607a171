"""Provider-server test setup.

``starlette.testclient`` warns once, at import, when it runs on ``httpx`` instead of
``httpx2``; it is imported here with that one warning silenced (pytest turns warnings into
errors), so the test modules reuse the loaded module.
"""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`", category=StarletteDeprecationWarning)
    import starlette.testclient  # noqa: F401
