"""The self-hosted, DeepAffects-compatible emotion API (``emotion-analytics serve``).

Modules: `config` (settings, API keys), `app` (the FastAPI app factory `create_app`), `jobs`
(the job store: a SQLite file for one server, PostgreSQL for several), `runner` (job worker
threads), `webhooks` (signed delivery with retries), `fetch` (URL fetching that refuses
private targets), `logs` (JSON log records) and `models`, `state`, `handlers` and `middleware`
(the parts `app` wires together). The ``serve`` sub-command is
`emotion_analytics.commands.serve`. FastAPI and uvicorn (the ``server`` extra)
are imported only by `app` and its parts, and when serving.

>>> from emotion_analytics.server import ServerConfig
>>> ServerConfig(port=9000).port
9000
"""

from __future__ import annotations

from .config import ServerConfig, load_api_keys

__all__ = ["ServerConfig", "load_api_keys", "create_app"]


def create_app(*args, **kwargs):
    """Build the API app (see `emotion_analytics.server.app.create_app`); needs the server extra.

    >>> create_app  # doctest: +ELLIPSIS
    <function create_app at ...>
    """
    from ..errors import require

    require("fastapi", "server")
    from .app import create_app as factory

    return factory(*args, **kwargs)
