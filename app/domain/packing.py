"""Pack verification: every unit is scanned against what was picked; wrong or extra items are refused."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ExtraItem, WrongItem


@dataclass
class PackLine:
    line_pk: int
    sku_code: str
    to_pack: int  # units picked for this line
    packed: int

    @property
    def remaining(self) -> int:
        return self.to_pack - self.packed


def verify_unit(lines: list[PackLine], sku_code: str) -> PackLine:
    """The line a scanned unit belongs to, or WrongItem / ExtraItem."""
    matching = [line for line in lines if line.sku_code == sku_code]
    if not matching:
        raise WrongItem(f"{sku_code} is not in this order", sku=sku_code)
    for line in matching:
        if line.remaining > 0:
            return line
    raise ExtraItem(f"all {sum(l.to_pack for l in matching)} of {sku_code} are already packed", sku=sku_code)


def is_complete(lines: list[PackLine]) -> bool:
    return all(line.remaining <= 0 for line in lines)


@dataclass(frozen=True)
class Carton:
    code: str
    volume_cm3: int
    max_weight_g: int
    tare_g: int


CARTONS = (
    Carton("S", 3_000, 2_000, 80),
    Carton("M", 12_000, 8_000, 180),
    Carton("L", 36_000, 20_000, 350),
    Carton("XL", 90_000, 30_000, 600),
)


def suggest_carton(total_volume_cm3: int, total_weight_g: int, cartons=CARTONS) -> Carton:
    """Smallest carton whose volume (with 20 % air) and weight limit both fit."""
    for carton in sorted(cartons, key=lambda c: c.volume_cm3):
        if total_volume_cm3 * 1.2 <= carton.volume_cm3 and total_weight_g <= carton.max_weight_g:
            return carton
    return max(cartons, key=lambda c: c.volume_cm3)


def weight_within_tolerance(expected_g: int, measured_g: int, pct: float = 0.10, floor_g: int = 50) -> bool:
    """Scale check: within 10 % or 50 g, whichever is larger (light parcels jitter on scales)."""
    return abs(measured_g - expected_g) <= max(floor_g, expected_g * pct)
