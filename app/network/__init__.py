"""The reference router of the micro-fulfillment network: a separate program that talks to nodes only
over the REST contract. Node code never imports this package (tests/unit/test_architecture.py)."""
