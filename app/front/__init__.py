"""The router's front: a second process that answers the router's reads (status, inventory, events)
from the database file and passes every other router request to the node process.

Why a second process: one Python process runs one thread of Python at a time. With the floor busy
(20 stations confirming flat out) a router read waited for the interpreter three times before any
of its code ran (server loop, request hand-off, worker) and again after each database call:
p99 17-28 ms against a target of 20. The same reads served by a process of their own over the same
SQLite file (WAL: readers never wait for the writer) measured 4-12 ms. Writes stay in the node
process, so there is still exactly one writer and one place that drives the floor."""
