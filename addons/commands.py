"""``edge.*`` commands: the console's ``:`` prompt, mitmweb's command bar and its REST API
(``POST /commands/<name>`` with ``{"arguments": [...]}``).

    edge.providers                               provider status (breaker, latency, hit rate)
    edge.cache.inspect <uuid> [gdpr_consent]     what the cache holds for a visitor
    edge.cache.clear <uuid>                      forget a visitor's cached answers
    edge.provider.disable <name>                 stop asking a provider
    edge.provider.enable <name>
    edge.replay <flows> <uuid> [gdpr_consent]    replay hits as another visitor / consent
    edge.reload                                  read the config file again (what SIGHUP does
                                                 to ``edge proxy``)

Values that are documents (status, cache) are returned as JSON text. A command that cannot run
raises ``CommandError`` with the reason (the edge is not configured, an unknown provider).
For ``edge.replay``, ``uuid`` ``new`` replays as a visitor without an id and ``gdpr_consent``
``none`` drops the consent parameters; the copies are added to the flow list and replayed
through the edge (``replay.client``), so they are enriched afresh.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mitmproxy import command, ctx, exceptions, flow, http

from edge.contracts import envelope
from edge.contracts.ids import is_uuid


def edge_addon() -> Any:
    """The running EdgeAddon with an enricher; CommandError otherwise."""
    edge = ctx.master.addons.get("edgeaddon")
    if edge is None or edge.enricher is None or edge.config is None:
        raise exceptions.CommandError("the edge is not configured (set edge_config)")
    return edge


def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


class EdgeCommands:
    @command.command("edge.providers")
    def providers(self) -> str:
        """Provider status: breaker, calls, latency p50/p95, cache hit rate (JSON)."""
        return _dump(edge_addon().enricher.status())

    @command.command("edge.cache.inspect")
    def cache_inspect(self, uuid: str, gdpr_consent: str = "") -> str:
        """What the provider cache holds for a visitor (under the given consent), as JSON."""
        gdpr = 1 if gdpr_consent else None
        looks = edge_addon().enricher.cached(uuid, gdpr, gdpr_consent or None)
        out: dict[str, Any] = {
            name: {"fresh": _ids(look.fresh), "failing": look.failing, "stale": _ids(look.stale)}
            for name, look in looks.items()
        }
        return _dump({"uuid": uuid, "providers": out})

    @command.command("edge.cache.clear")
    def cache_clear(self, uuid: str) -> int:
        """Forget a visitor's cached provider answers; the number of entries removed."""
        return int(edge_addon().enricher.clear_cache(uuid))

    @command.command("edge.provider.disable")
    def provider_disable(self, name: str) -> None:
        """Stop asking a provider (its hits show status "disabled")."""
        _toggle(name, enable=False)

    @command.command("edge.provider.enable")
    def provider_enable(self, name: str) -> None:
        """Ask a disabled provider again."""
        _toggle(name, enable=True)

    @command.command("edge.reload")
    def reload(self) -> str:
        """Read the config file again and switch to it (cache, metrics and breakers carry
        over); an invalid file is reported and the running config stays."""
        edge = ctx.master.addons.get("edgeaddon")
        if edge is None:
            raise exceptions.CommandError("the edge addon is not loaded")
        try:
            return str(edge.reload())
        except ValueError as e:
            raise exceptions.CommandError(f"not reloaded: {e}") from None

    @command.command("edge.replay")
    def replay(self, flows: Sequence[flow.Flow], uuid: str, gdpr_consent: str = "") -> int:
        """Replay DCS hits as another visitor (uuid, or "new") and consent (or "none")."""
        edge = edge_addon()
        if uuid != "new" and not is_uuid(uuid):
            raise exceptions.CommandError(f"not a visitor id: {uuid!r} (38 digits, or new)")
        copies = [
            rewrite(f.copy(), uuid, gdpr_consent, edge.config.dcs.cookie_name, f.id)
            for f in flows
            if isinstance(f, http.HTTPFlow) and f.metadata.get("edge_route") == "event"
        ]
        if not copies:
            return 0
        view = ctx.master.addons.get("view")
        if view is not None:
            view.add(copies)
        ctx.master.commands.call("replay.client", copies)
        return len(copies)


def _ids(answer: Any) -> list[str] | None:
    return None if answer is None else [s.id for s in answer.segments]


def _toggle(name: str, *, enable: bool) -> None:
    enricher = edge_addon().enricher
    try:
        (enricher.enable if enable else enricher.disable)(name)
    except KeyError:
        names = ", ".join(str(r["name"]) for r in enricher.status())
        raise exceptions.CommandError(f"unknown provider {name!r} (known: {names})") from None


def rewrite(
    f: http.HTTPFlow, uuid: str, gdpr_consent: str, cookie_name: str, origin_id: str
) -> http.HTTPFlow:
    """A copy of a hit, as visitor `uuid` with consent `gdpr_consent`, ready for replay."""
    req = f.request
    for name in envelope.EDGE_HEADERS:
        req.headers.pop(name, None)
    req.headers.pop("X-Forwarded-For", None)
    _set(req, "d_uuid", None if uuid == "new" else uuid)
    req.cookies.pop(cookie_name, None)
    if gdpr_consent == "none":
        _set(req, "gdpr", None)
        _set(req, "gdpr_consent", None)
    elif gdpr_consent:
        _set(req, "gdpr", "1")
        _set(req, "gdpr_consent", gdpr_consent)
    f.metadata.pop("edge", None)
    f.marked = ""
    f.comment = f"replay of {origin_id} as visitor {uuid}" + (
        f", consent {gdpr_consent}" if gdpr_consent else ""
    )
    return f


def _set(req: http.Request, key: str, value: str | None) -> None:
    """Set (or with None remove) a parameter in the query, and in a form body that has it."""
    if value is None:
        req.query.pop(key, None)
    else:
        req.query[key] = value
    if req.method == "POST" and req.urlencoded_form and key in req.urlencoded_form:
        form = req.urlencoded_form
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
        req.urlencoded_form = form
