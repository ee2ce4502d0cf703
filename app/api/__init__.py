"""REST contract with the central router (blueprint /api/v1)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import problems as _problems  # noqa: E402

_problems.register(bp)

from . import routes  # noqa: E402,F401  (registers the views on bp)
