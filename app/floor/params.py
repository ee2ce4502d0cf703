"""Typed parameters of floor actions. A form is parsed against the action's parameters: a
missing or unexpected field, a non-number or a number out of range is a specific message, and
nothing reaches a handler that it did not declare."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .outcome import BadInput

_INT = re.compile(r"[+-]?\d{1,9}")  # nine digits: far beyond any quantity, never an overflow
TRANSPORT_FIELDS = frozenset({"csrf_token", "request_id"})  # read by the entry point, not the handler


@dataclass(frozen=True)
class Int:
    name: str
    label: str
    minimum: int = 0
    maximum: int = 99_999
    required: bool = True
    default: int | None = None
    nonzero: bool = False

    def parse(self, raw: str) -> int:
        text = raw.strip()
        if not _INT.fullmatch(text):
            raise BadInput(f"{self.label} must be a whole number", field=self.name)
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise BadInput(f"{self.label} must be from {self.minimum} to {self.maximum}", field=self.name)
        if self.nonzero and value == 0:
            raise BadInput(f"{self.label} cannot be zero", field=self.name)
        return value


@dataclass(frozen=True)
class Text:
    name: str
    label: str
    max_length: int = 64
    required: bool = True
    default: str | None = None

    def parse(self, raw: str) -> str:
        text = raw.strip()
        if len(text) > self.max_length:
            raise BadInput(f"{self.label} is longer than {self.max_length} characters", field=self.name)
        if self.required and not text:
            raise BadInput(f"enter the {self.label}", field=self.name)
        return text


@dataclass(frozen=True)
class Choice:
    name: str
    label: str
    choices: tuple[str, ...]
    required: bool = True
    default: str | None = None

    def parse(self, raw: str) -> str:
        text = raw.strip()
        if text not in self.choices:
            raise BadInput(f"choose the {self.label}: {', '.join(self.choices)}", field=self.name)
        return text


Param = Int | Text | Choice


def parse_form(params: tuple[Param, ...], form: Mapping[str, str]) -> dict:
    """The handler's keyword arguments from a form (or JSON object with string values)."""
    known = {p.name for p in params}
    extra = sorted(k for k in form if k not in known and k not in TRANSPORT_FIELDS)
    if extra:
        raise BadInput(f"unexpected field {extra[0]}", field=extra[0])
    out = {}
    for p in params:
        raw = form.get(p.name)
        if raw is None or (not p.required and str(raw).strip() == ""):
            if p.required:
                raise BadInput(f"missing field {p.name} ({p.label})", field=p.name)
            out[p.name] = p.default
            continue
        out[p.name] = p.parse(str(raw))
    return out
