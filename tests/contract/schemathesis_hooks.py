"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.schemathesis_hooks).

JSON Schema cannot say "line_id is unique within lines"; the node answers 422 when it is not
(documented on OrderRequest). Generated orders get distinct line_ids before they are sent, so
schema-valid data stays valid for the node. Nothing else is changed."""
import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method != "PUT" or case.path not in ("/orders/{order_id}", "/transfer-orders/{transfer_id}") \
            or not isinstance(case.body, dict):
        return
    lines = case.body.get("lines")
    if not isinstance(lines, list):
        return
    seen = set()
    for i, line in enumerate(lines):
        if isinstance(line, dict) and isinstance(line.get("line_id"), str):
            if line["line_id"] in seen:
                line["line_id"] = (f"{i}~" + line["line_id"])[:64]
            seen.add(line["line_id"])
