"""Printers: documents (ESC/POS, ZPL), drivers over python-escpos transports and raw TCP, a decoder."""

from hardware.printers.drivers import (
    EscposNetworkPrinter,
    EscposPrinter,
    Printer,
    PrinterNotReady,
    PrinterOffline,
    PrintUnconfirmed,
    ZplNetworkPrinter,
    build_printer,
)

__all__ = ["EscposNetworkPrinter", "EscposPrinter", "Printer", "PrinterNotReady", "PrinterOffline",
           "PrintUnconfirmed", "ZplNetworkPrinter", "build_printer"]
