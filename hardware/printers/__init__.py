"""Printers: documents (ESC/POS, ZPL), drivers over python-escpos transports and raw TCP, a decoder."""

from hardware.printers.drivers import EscposPrinter, Printer, PrinterOffline, ZplNetworkPrinter, build_printer

__all__ = ["EscposPrinter", "Printer", "PrinterOffline", "ZplNetworkPrinter", "build_printer"]
