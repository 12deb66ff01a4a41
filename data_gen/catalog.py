"""The shop's product catalogue and card BIN ranges, plus basket building from a target amount."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from data_gen.clock import MS_DAY, MS_MIN, Clock
from data_gen.params import MARKETS
from data_gen.rand import Draw

N_PRODUCTS = 100

# category, count, min EUR, max EUR, name stems, how many are 18+ (adult restricted)
_CATEGORIES: tuple[tuple[str, int, float, float, tuple[str, ...], int], ...] = (
    ("smartphones", 12, 149, 1399, ("Phone", "Phone Pro", "Phone Lite", "Phone Max"), 0),
    ("laptops", 10, 399, 2499, ("Book", "Book Air", "Book Pro", "Studio Laptop"), 0),
    ("tablets", 7, 129, 1199, ("Tab", "Tab Pro", "Pad"), 0),
    ("tv", 8, 249, 2199, ("OLED TV 55", "QLED TV 65", "LED TV 43", "OLED TV 65"), 0),
    ("audio", 12, 19, 449, ("Buds", "Headphones", "Speaker", "Soundbar"), 0),
    ("gaming", 12, 19, 549, ("Console", "Controller", "Game", "Game Deluxe"), 4),
    ("cameras", 5, 199, 1599, ("Action Cam", "Mirrorless", "Compact Cam"), 0),
    ("wearables", 8, 49, 499, ("Watch", "Band", "Watch Sport"), 0),
    ("smart_home", 8, 19, 249, ("Smart Plug", "Cam Indoor", "Hub", "Bulb Pack"), 0),
    ("accessories", 18, 4.99, 59, ("USB-C Cable", "Case", "Charger", "Screen Glass", "SD Card"), 0),
)
assert sum(c[1] for c in _CATEGORIES) == N_PRODUCTS
_BRANDS = ("Veltra", "Norix", "Kaio", "Sorell", "Lumen", "Ardent", "Zephy", "Orcan", "Tessel")


@dataclass(frozen=True, slots=True)
class Product:
    index: int  # 0-based; product_id is P{index+1:04d}
    name: str
    category: str
    adult_restricted: bool
    price_cents: int
    created_ms: int


class Catalog:
    """Products plus lookups used when building baskets and browsing."""

    def __init__(self, draw: Draw, clock: Clock) -> None:
        products: list[Product] = []
        names: set[str] = set()
        for category, count, lo, hi, stems, restricted in _CATEGORIES:
            for k in range(count):
                name = _unique_name(draw, stems, names)
                price = _shop_price(lo * (hi / lo) ** draw.random())
                created = clock.start_ms - draw.integers(20, 900) * MS_DAY
                created += draw.integers(8 * 60, 18 * 60) * MS_MIN
                products.append(
                    Product(len(products), name, category, k < restricted, price, created)
                )
        self.products = tuple(products)
        by_price = sorted(range(len(products)), key=lambda i: (products[i].price_cents, i))
        self._by_price = tuple(by_price)
        self._prices = tuple(products[i].price_cents for i in by_price)
        self.cheap = tuple(i for i in by_price if products[i].price_cents <= 1500)

    def price(self, index: int) -> int:
        return self.products[index].price_cents

    def near_price(self, draw: Draw, cents: float, spread: int = 2) -> int:
        """A product priced close to ``cents`` (one of the few nearest, at random)."""
        pos = bisect_left(self._prices, cents)
        pos += draw.integers(-spread, spread)
        return self._by_price[min(max(pos, 0), len(self._by_price) - 1)]

    def basket(self, draw: Draw, target_cents: float) -> list[tuple[int, int, int]]:
        """Items ``(product, qty, unit_price_cents)`` whose total lands near ``target_cents``.

        One main item near most of the target, sometimes an accessory on top: electronics
        baskets are dominated by one device, which keeps each customer's amounts consistent.
        """
        main = self.near_price(draw, target_cents * draw.uniform(0.7, 1.0))
        items = [(main, 1, self.price(main))]
        rest = target_cents - self.price(main)
        if rest > 800 and draw.chance(0.45):
            hi = bisect_right(self._prices, rest)
            if hi > 0:
                extra = self._by_price[draw.integers(0, hi - 1)]
                if extra != main:
                    qty = 2 if self.price(extra) < 3000 and draw.chance(0.3) else 1
                    items.append((extra, qty, self.price(extra)))
        return items

    def neighbours(self, draw: Draw, index: int) -> int:
        """Another product a shopper compares with ``index`` (similar price)."""
        return self.near_price(draw, self.price(index), spread=4)


def _unique_name(draw: Draw, stems: tuple[str, ...], taken: set[str]) -> str:
    while True:
        name = f"{draw.choice(_BRANDS)} {draw.choice(stems)} {draw.integers(2, 19)}"
        if name not in taken:
            taken.add(name)
            return name


def _shop_price(euros: float) -> int:
    """Shop-style price in cents: 4.99, 39.99, 449.99, 1249.00."""
    if euros < 100:
        return max(int(euros), 1) * 100 + 99
    if euros < 1000:
        return round(euros / 10) * 1000 - 1
    return round(euros / 50) * 5000 - 100


def card_bins(draw: Draw) -> dict[str, tuple[str, ...]]:
    """Issuer BINs per country: mostly Visa (4...), Mastercard (5.../2...), a few Amex (3...)."""
    seen: set[str] = set()
    out: dict[str, tuple[str, ...]] = {}
    for country in MARKETS:
        bins: list[str] = []
        while len(bins) < 10:
            u = draw.random()
            prefix = "4" if u < 0.58 else "5" if u < 0.88 else "2" if u < 0.95 else "37"
            digits = prefix + "".join(str(draw.integers(0, 9)) for _ in range(6 - len(prefix)))
            if prefix == "5" and digits[1] not in "12345":
                digits = "5" + str(draw.integers(1, 5)) + digits[2:]
            if prefix == "2":
                digits = "22" + digits[2:]
            if digits not in seen:
                seen.add(digits)
                bins.append(digits)
        out[country] = tuple(bins)
    return out
