"""The rebalancing page of the router's dashboard: the latest plans with their transfers and
where they are, the nodes' days of cover, the forecast accuracy per SKU class, and the
supervisor's actions (plan now, approve, reject, automatic mode). Routes parse, call one planning
service and render; the page is `/planning`, its panel `/planning/panel` (htmx)."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request

from app.network.services import planning

planning_board = Blueprint("network_planning", __name__, template_folder="templates")
# The cover table shows the node-SKUs below this many days first (the ones a plan is about).
LOW_COVER_ROWS = 30


def _ctx():
    return current_app.extensions["wes_network"]


def _panel(message: str | None = None, error: str | None = None):
    ctx = _ctx()
    plans = planning.list_plans(ctx, limit=10)
    latest = plans[0] if plans else None
    cover = sorted((latest or {}).get("cover", []),
                   key=lambda c: (c["cover_days"] is None, c["cover_days"] or 0.0))[:LOW_COVER_ROWS]
    return render_template("_planning.html", plans=plans, latest=latest, cover=cover,
                           auto=planning.auto_issue_enabled(ctx), message=message, error=error)


@planning_board.get("/planning")
def page():
    return render_template("planning.html", panel=_panel())


@planning_board.get("/planning/panel")
def panel():
    return _panel()


@planning_board.post("/planning/plans")
def plan_now():
    plan = planning.run_planning_cycle(_ctx())
    return _panel(message=f"plan {plan['plan_id']}: {len(plan['transfers'])} transfers, {plan['units']} units, "
                          f"{plan['status']}")


# action name -> service; an unknown action is a 404 naming the known ones
PLAN_ACTIONS = {"approve": planning.approve_plan, "reject": planning.reject_plan}


@planning_board.post("/planning/plans/<plan_id>/<action>")
def act(plan_id, action):
    if action not in PLAN_ACTIONS:
        return _panel(error=f"unknown action {action!r}; actions: {', '.join(PLAN_ACTIONS)}"), 404
    try:
        plan = PLAN_ACTIONS[action](_ctx(), plan_id)
    except planning.PlanProblem as exc:
        return _panel(error=str(exc)), 404 if exc.code == "unknown-plan" else 409
    return _panel(message=f"plan {plan_id} {plan['status']}")


@planning_board.post("/planning/auto")
def auto():
    value = request.form.get("auto", "")
    if value not in ("on", "off"):
        return _panel(error="automatic mode is 'on' or 'off'"), 422
    planning.set_auto_issue(_ctx(), value == "on")
    return _panel(message=f"automatic issue {value}")


def register_planning(app: Flask) -> Flask:
    """Add the rebalancing page to a router app (create_router_app does; a second call changes nothing)."""
    if planning_board.name not in app.blueprints:
        app.register_blueprint(planning_board)
    return app
