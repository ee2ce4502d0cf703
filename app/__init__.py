"""Node WES: the warehouse execution system of one micro-fulfillment node."""
from __future__ import annotations

from flask import Flask


def create_app(config: dict | None = None, node=None, kiosk: bool = True) -> Flask:
    """Flask factory. `node` (app.bootstrap.Node) is built from settings unless given; `config`
    holds Flask settings and WES overrides (keys of app.config.Settings, lower case). Without
    `kiosk` only the API is served (the router's front process, app.front)."""
    from app.bootstrap import build_node
    from app.config import Settings

    config = dict(config or {})
    if node is None:
        overrides = {k: config.pop(k) for k in list(config) if k in Settings.__dataclass_fields__}
        node = build_node(Settings.load(**overrides))
    app = Flask(__name__)
    app.config.update(SECRET_KEY=node.settings.secret_key, JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=2 * 1024 * 1024)
    app.config.update(config)
    app.json.sort_keys = False  # responses keep the order they were built in, and sorting costs per request
    app.extensions["wes"] = node

    from app.api import bp as api_bp

    app.register_blueprint(api_bp)
    kiosk_bp = None
    if kiosk:  # the router's front serves only the API: it need not load the floor's screens
        try:
            from kiosk import bp as kiosk_bp
        except ImportError:  # the kiosk package is optional for API-only nodes
            kiosk_bp = None
    if kiosk_bp is not None:
        from kiosk.sessions import NoCookieSessions

        app.session_interface = NoCookieSessions()
        app.register_blueprint(kiosk_bp)
    from app import web

    web.register(app, node, kiosk=kiosk_bp is not None)
    if kiosk_bp is not None:  # a picker's scans and confirmations, without Flask's dispatch
        from kiosk.hot import HotRoutes

        app.wsgi_app = HotRoutes(app, app.wsgi_app)
    return app
