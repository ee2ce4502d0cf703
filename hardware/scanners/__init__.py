"""Barcode scanners: frame parsing (AIM, GS1), the scan pipeline, serial driver, fake."""

from hardware.scanners.fake import FakeScanner
from hardware.scanners.frames import Gs1Data, Scan, ScanError, parse_frame
from hardware.scanners.pipeline import AssembledFrame, FrameAssembler, ScanPipeline
from hardware.scanners.serial_scanner import SerialScanner

__all__ = [
    "AssembledFrame",
    "FakeScanner",
    "FrameAssembler",
    "Gs1Data",
    "Scan",
    "ScanError",
    "ScanPipeline",
    "SerialScanner",
    "parse_frame",
]
