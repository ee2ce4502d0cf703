"""Device library for Node WES: scanners, pick-to-light controllers and printers.

Knows nothing about warehouses: it moves bytes to and from devices, parses
barcode frames and reports device health. The app decides what a scan means.
"""
