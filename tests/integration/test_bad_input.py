"""Every service refuses bad input with a clear domain error and changes nothing."""
import pytest

from app.domain import errors
from app.services import catalog, inbound, inventory, orders, packing, picking, printing, putwall

from .floorplan import GTIN, fingerprint, order_body, seed


@pytest.fixture
def floor(uow):
    seed(uow)
    orders.receive_order(uow, "RO-1", order_body(("SKU-1", 2)))
    inbound.put_inbound(uow, "ASN-1", {"source": "supplier:ACME", "lines": [{"sku": "SKU-1", "qty": 1}]})
    return uow


CASES = [
    ("put unknown sku", lambda u: inventory.put_stock(u, "NOPE", "A-01-00", 1), errors.UnknownSku),
    ("put unknown location", lambda u: inventory.put_stock(u, "SKU-1", "Z-99", 1), errors.UnknownLocation),
    ("put zero", lambda u: inventory.put_stock(u, "SKU-1", "A-01-00", 0), errors.InvalidQuantity),
    ("put negative", lambda u: inventory.put_stock(u, "SKU-1", "A-01-00", -3), errors.InvalidQuantity),
    ("put float", lambda u: inventory.put_stock(u, "SKU-1", "A-01-00", 1.5), errors.InvalidQuantity),
    ("adjust zero", lambda u: inventory.adjust_stock(u, "SKU-1", "A-01-00", 0, "found"), errors.InvalidQuantity),
    ("adjust below reserved", lambda u: inventory.adjust_stock(u, "SKU-1", "A-01-00", -5, "lost"), errors.InsufficientStock),
    ("adjust bad reason", lambda u: inventory.adjust_stock(u, "SKU-1", "A-01-00", 1, "because"), errors.ValidationFailed),
    ("adjust unknown sku", lambda u: inventory.adjust_stock(u, "NOPE", "A-01-00", 1, "found"), errors.UnknownSku),
    ("count negative", lambda u: inventory.count_stock(u, "SKU-1", "A-01-00", -1), errors.InvalidQuantity),
    ("count unknown location", lambda u: inventory.count_stock(u, "SKU-1", "Q", 1), errors.UnknownLocation),
    ("order bad id", lambda u: orders.receive_order(u, "bad id!", order_body(("SKU-1", 1))), errors.ValidationFailed),
    ("order zero qty", lambda u: orders.receive_order(u, "RO-9", order_body(("SKU-1", 0))), errors.ValidationFailed),
    ("cancel unknown", lambda u: orders.request_cancellation(u, "RO-404"), errors.UnknownOrder),
    ("complete cancel of allocated", lambda u: orders.complete_cancellation(u, "RO-1"), errors.IllegalTransition),
    ("resolve non-exception", lambda u: orders.resolve_exception(u, "RO-1", "close"), errors.IllegalTransition),
    ("patch bad field", lambda u: orders.patch_order(u, "RO-1", {"status": "shipped"}, 2), errors.ValidationFailed),
    ("pack unpicked", lambda u: packing.pack_item(u, "RO-1", GTIN["SKU-1"]), errors.IllegalTransition),
    ("close unpicked", lambda u: packing.close_package(u, "RO-1"), errors.IllegalTransition),
    ("ship unpacked", lambda u: packing.ship(u, "RO-1"), errors.IllegalTransition),
    ("ship unknown code", lambda u: packing.ship(u, "NOTHING"), errors.UnknownOrder),
    ("pick unknown task", lambda u: picking.confirm_pick(u, 999), errors.NotFound),
    ("short bad reason", lambda u: picking.short_pick(u, 999, 0, "bored"), errors.ValidationFailed),
    ("batch bad mode", lambda u: picking.create_batch(u, mode="teleport"), errors.ValidationFailed),
    ("put wall unknown item", lambda u: putwall.put_scan(u, "0000000000000"), errors.UnknownBarcode),
    ("receive before arrival", lambda u: inbound.receive_item(u, "ASN-1", GTIN["SKU-1"], 1, "A-01-00"), errors.IllegalTransition),
    ("receive zero", lambda u: inbound.receive_item(u, "ASN-1", GTIN["SKU-1"], 0, "A-01-00"), errors.InvalidQuantity),
    ("arrive unknown asn", lambda u: inbound.arrive(u, "ASN-404"), errors.NotFound),
    ("inbound bad body", lambda u: inbound.put_inbound(u, "ASN-2", {"lines": []}), errors.ValidationFailed),
    ("print bad document", lambda u: printing.enqueue_print(u, "lp-1", "poster", {}), errors.ValidationFailed),
    ("reprint unknown", lambda u: printing.reprint(u, 12345), errors.NotFound),
    ("sku without name", lambda u: catalog.upsert_sku(u, code="X", name=""), errors.ValidationFailed),
    ("location bad kind", lambda u: catalog.upsert_location(u, code="X", zone="A", kind="roof"), errors.ValidationFailed),
    ("barcode stolen", lambda u: catalog.upsert_sku(u, code="SKU-2", name="x", barcodes=[GTIN["SKU-1"]]), errors.Conflict),
    ("operator bad role", lambda u: catalog.create_operator(u, "B-1", "X", "king"), errors.ValidationFailed),
    ("login unknown badge", lambda u: catalog.authenticate(u, "NOBODY", None), errors.NotAllowed),
]


@pytest.mark.parametrize("name,call,error", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error_and_changes_nothing(floor, name, call, error):
    before = fingerprint(floor)
    with pytest.raises(error) as exc:
        call(floor)
    assert exc.value.code and exc.value.message
    assert fingerprint(floor) == before


def test_wrong_pin_is_refused(uow):
    catalog.create_operator(uow, "B-1", "Pat", "picker", "1234")
    assert catalog.authenticate(uow, "B-1", "1234")["role"] == "picker"
    with pytest.raises(errors.NotAllowed):
        catalog.authenticate(uow, "B-1", "9999")
