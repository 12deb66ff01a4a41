"""Every labelled behaviour in one place: legitimate ones that fire rules, and fraud scenarios.

The detector's rules (FIRST_PAYMENT, NEW_CUSTOMER, UNUSUAL_HOUR, MOBILE_DEVICE, DIRECT_TRAFFIC,
PAYMENT_FAILED, VELOCITY_HIGH, NEW_DEVICE, UNUSUAL_AMOUNT, FAST_CHECKOUT, GEO_MISMATCH) read
plain fields, so both sides are written here against those fields:

* legitimate behaviours make rules fire on honest customers, so precision stays below 1;
* fraud scenarios carry ground truth (``is_fraud``, ``fraud_scenario``, ``fraud_incident_id``)
  and most, but not all (``low_signal``), look suspicious, so recall stays below 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from data_gen.clock import DAY_HOURS_CUM, MS_DAY, MS_H, MS_MIN, MS_S, NIGHT_HOURS_CUM
from data_gen.funnel import (
    ADD_PAYMENT_METHOD,
    ADD_TO_CART,
    CHECKOUT_START,
    PAGE_VIEW,
    PRODUCT_VIEW,
    Chunk,
    Item,
    Label,
    Session,
    Shop,
    Tender,
    basket_total,
    browse,
    campaign,
    checkout,
    dwell,
    fill_cart,
    pay,
    usual_tender,
)
from data_gen.profiles import COUNTRY, Profile, make_profile, pick_zone
from data_gen.rand import Choices, Draw, cumulative
from data_gen.schema import FRAUD_SCENARIOS

# --------------------------------------------------------------------------------------------
# Legitimate behaviours that fire rules


@dataclass(frozen=True)
class Behaviour:
    name: str
    fires: tuple[str, ...]  # detector rules this honest behaviour triggers
    share: float  # of legitimate customers who have it
    summary: str


LEGIT_BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour("night_owl", ("UNUSUAL_HOUR",), 0.05, "shops mostly 23:00-06:00 local time"),
    Behaviour("traveller", ("GEO_MISMATCH",), 0.06, "3-10 days abroad, pays from there"),
    Behaviour("new_phone", ("NEW_DEVICE",), 0.07, "established customer gets a new phone"),
    Behaviour("big_purchase", ("UNUSUAL_AMOUNT",), 0.06, "one purchase 3.5-8x the usual basket"),
    Behaviour("saved_card", ("FAST_CHECKOUT",), 0.25, "card on file, often pays in seconds"),
)
# Not a customer trait: any decline may be retried (see RETRY_POLICY); counted per retry.
RETRY_AFTER_DECLINE = "retry_after_decline"
LEGIT_BEHAVIOUR_NAMES: tuple[str, ...] = (*(b.name for b in LEGIT_BEHAVIOURS), RETRY_AFTER_DECLINE)


def assign_behaviours(draw: Draw, established: bool) -> frozenset[str]:
    """Legitimate behaviours of a new customer (a new phone needs an old account)."""
    names = [b.name for b in LEGIT_BEHAVIOURS if draw.chance(b.share)]
    if not established and "new_phone" in names:
        names.remove("new_phone")
    return frozenset(names)


def activity_hours(profile: Profile) -> list[float]:
    """Cumulative local-hour weights for when this customer visits."""
    return NIGHT_HOURS_CUM if "night_owl" in profile.behaviours else DAY_HOURS_CUM


@dataclass(frozen=True, slots=True)
class Trip:
    start: int
    end: int
    country: str
    ip: str


def plan_trip(draw: Draw, shop: Shop, profile: Profile) -> Trip | None:
    """A traveller's stay abroad; sessions during it come from that country's IPs."""
    if "traveller" not in profile.behaviours:
        return None
    clock = shop.clock
    length = min(draw.integers(3, 10), clock.days) * MS_DAY
    start = clock.start_ms + int(draw.random() * (clock.end_ms - clock.start_ms - length))
    country = profile.country
    while country == profile.country:
        country = COUNTRY.pick(draw)
    return Trip(start, start + length, country, draw.hex64())


@dataclass(frozen=True, slots=True)
class PhoneSwitch:
    at: int
    old: int  # replaced device, or -1 when the customer had no phone
    new: int


def plan_new_phone(draw: Draw, shop: Shop, chunk: Chunk, profile: Profile) -> PhoneSwitch | None:
    """A new phone (new device_id) from some point on; the old phone is never seen again."""
    if "new_phone" not in profile.behaviours:
        return None
    clock = shop.clock
    at = clock.start_ms + int(draw.uniform(0.15, 0.85) * (clock.end_ms - clock.start_ms))
    phones = [d for d in profile.devices if chunk.devices.kinds[d] != "desktop"]
    old = phones[0] if phones else -1
    kind = (
        chunk.devices.kinds[old] if phones and draw.chance(0.8) else draw.choice(("ios", "android"))
    )
    return PhoneSwitch(at, old, chunk.devices.new(kind))


def big_purchase_factor(draw: Draw) -> float:
    return draw.uniform(3.5, 8.0)


def checkout_style(draw: Draw, profile: Profile, has_paid: bool) -> tuple[bool, bool]:
    """(quick, new_method): a saved card lets a returning customer pay within seconds."""
    if "saved_card" in profile.behaviours and has_paid:
        return draw.chance(0.4), draw.chance(0.05)
    return False, draw.chance(0.5)


DECLINES: Choices[str] = Choices(
    (
        ("insufficient_funds", 0.38),
        ("do_not_honor", 0.27),
        ("card_expired", 0.10),
        ("incorrect_cvc", 0.12),
        ("authentication_failed", 0.09),
        ("fraud_suspected", 0.04),
    )
)
FIRST_DECLINE = 0.13  # share of legitimate first attempts declined
# reason -> (P(retry), P(retry uses another card or method), P(same card declined again))
RETRY_POLICY: dict[str, tuple[float, float, float]] = {
    "insufficient_funds": (0.55, 0.6, 0.6),
    "do_not_honor": (0.55, 0.5, 0.5),
    "card_expired": (0.85, 1.0, 0.0),
    "incorrect_cvc": (0.9, 0.0, 0.15),
    "authentication_failed": (0.7, 0.0, 0.3),
    "fraud_suspected": (0.45, 0.6, 0.4),
}
SWITCHED_DECLINE = 0.08
MAX_ATTEMPTS = 3


def legit_payment(
    session: Session, draw: Draw, shop: Shop, profile: Profile, items: list[Item], after_ms: int
) -> int:
    """Pay for a basket like a real customer: declines are often retried within a minute or
    two, with the same card (typo in the CVC) or another card/method.  Returns the retries."""
    tender = usual_tender(draw, profile, session.device_kind)
    decline = DECLINES.pick(draw) if draw.chance(FIRST_DECLINE) else ""
    pay(session, draw, shop.clock, after_ms, items, tender, decline)
    retries = 0
    while decline and retries + 1 < MAX_ATTEMPTS:
        p_retry, p_switch, p_again = RETRY_POLICY[decline]
        if not draw.chance(p_retry):
            break
        if draw.chance(p_switch):
            tender = _other_tender(draw, shop, profile, tender)
            session.event(ADD_PAYMENT_METHOD, dwell(draw, 25, 0.5))
            decline = DECLINES.pick(draw) if draw.chance(SWITCHED_DECLINE) else ""
        elif not draw.chance(p_again):
            decline = ""
        pay(session, draw, shop.clock, dwell(draw, 30, 0.6), items, tender, decline)
        retries += 1
    return retries


def _other_tender(draw: Draw, shop: Shop, profile: Profile, used: Tender) -> Tender:
    others = [c for c in profile.cards if c != used.card_bin]
    if others:
        return Tender("card", others[0])
    if used.method != "paypal" and draw.chance(0.6):
        return Tender("paypal", "")
    return Tender("card", draw.choice(shop.bins[profile.country]))


# --------------------------------------------------------------------------------------------
# Fraud scenarios


@dataclass
class FraudContext:
    """What a fraud scenario may touch: the chunk, its own random stream, possible victims."""

    draw: Draw
    chunk: Chunk
    shop: Shop
    victims: list[int]  # established customers with a successful payment, consumed from the end

    def new_account(self, signup_ms: int, country: str, zone: int, devices: tuple[int, ...]) -> int:
        local = len(self.chunk.profiles)
        profile = make_profile(
            self.draw,
            self.shop.clock,
            self.chunk.devices,
            self.shop.bins,
            local,
            signup_ms=signup_ms,
            country=country,
            zone=zone,
            device_ids=devices,
        )
        self.chunk.add_profile(profile)
        return local

    def session(
        self, cust: int, start: int, device: int, ip: str, country: str, utm: str
    ) -> Session:
        clock = self.shop.clock
        return self.chunk.open_session(
            cust, start, device, ip, country, utm, campaign(self.draw, clock, utm, start)
        )

    def local_time(
        self, zone: int, hours: list[float], last_day_margin: int = 0, after: int | None = None
    ) -> int:
        """A moment at a local hour drawn from ``hours``, on a seasonal day of the window that
        leaves ``last_day_margin`` days before the end, and falls later than ``after``."""
        clock = self.shop.clock
        first = 0
        if after is not None:  # the local day after ``after``: any time on it is later
            local_day = (after + clock.offset_ms(zone, after) - clock.start_ms) // MS_DAY
            first = min(local_day + 1, clock.days - 1)
        day = min(clock.random_day(self.draw, first), max(clock.days - 1 - last_day_margin, first))
        t = clock.local_time_on_day(self.draw, zone, day, hours)
        return self.clamp(t if after is None else max(t, after))

    def clamp(self, t: int) -> int:
        """Keep an incident inside the window (sessions last minutes, not hours)."""
        clock = self.shop.clock
        return min(max(t, clock.start_ms), clock.end_ms - MS_H)

    def foreign_country(self, home: str) -> str:
        country = home
        while country == home:
            country = COUNTRY.pick(self.draw)
        return country

    def stolen_card(self, country: str | None = None) -> Tender:
        return Tender("card", self.draw.choice(self.shop.bins[country or COUNTRY.pick(self.draw)]))


FRAUD_DEVICE: Choices[str] = Choices(
    (("desktop", 0.45), ("android", 0.3), ("mobile", 0.15), ("ios", 0.1))
)
_NIGHT_ONLY = cumulative([0, 1, 1.2, 1.2, 1, 0.6] + [0] * 18)  # 01:00-06:00 local
_ATO_PAYMENTS: Choices[int] = Choices(((2, 0.35), (3, 0.45), (4, 0.2)))
_RING_SOURCE: Choices[str] = Choices(
    (("google", 0.35), ("facebook", 0.25), ("direct", 0.3), ("email", 0.1))
)
CARD_TEST_DECLINES: Choices[str] = Choices(
    (
        ("do_not_honor", 0.35),
        ("incorrect_cvc", 0.2),
        ("card_expired", 0.15),
        ("insufficient_funds", 0.15),
        ("fraud_suspected", 0.15),
    )
)


def card_testing(ctx: FraudContext, budget: int) -> int:
    """A burst of 3-10 small attempts within minutes, each with another stolen card, mostly
    declined; checkout within seconds of add_to_cart, usually at night, direct traffic, on a
    device never seen before, mostly from a throwaway account created just before."""
    draw, chunk, shop = ctx.draw, ctx.chunk, ctx.shop
    n = min(draw.integers(3, 10), budget)
    label = Label("card_testing", chunk.new_incident())
    device = chunk.devices.new(FRAUD_DEVICE.pick(draw))
    hours = _NIGHT_ONLY if draw.chance(0.75) else DAY_HOURS_CUM
    if ctx.victims and draw.chance(0.2):
        cust = ctx.victims.pop()
        profile = chunk.profiles[cust]
        t0 = ctx.local_time(profile.zone, hours, after=_first_success(chunk, cust) + MS_H)
    else:
        country = COUNTRY.pick(draw)
        zone = pick_zone(draw, country)
        t0 = ctx.local_time(zone, hours)
        signup = t0 - int(draw.uniform(3 * MS_MIN, 2 * MS_H))
        cust = ctx.new_account(signup, country, zone, (device,))
        profile = chunk.profiles[cust]
    country = profile.country if draw.chance(0.7) else ctx.foreign_country(profile.country)
    utm = "direct" if draw.chance(0.85) else "google"
    ip = draw.hex64()
    cheap = draw.choice(shop.catalog.cheap)
    items = [(cheap, 1, shop.catalog.price(cheap))]
    restart = draw.chance(0.5)  # scripts that start a fresh session for every card
    s: Session | None = None
    t = t0
    for _ in range(n):
        if s is None:
            s = ctx.session(cust, t, device, ip, country, utm)
            s.event(PAGE_VIEW, 0)
            s.event(PRODUCT_VIEW, dwell(draw, 4, 0.5), cheap)
            s.event(ADD_TO_CART, dwell(draw, 3, 0.5), cheap, items[0][2])
            s.event(CHECKOUT_START, dwell(draw, 3, 0.5), amount=items[0][2])
            s.event(ADD_PAYMENT_METHOD, dwell(draw, 4, 0.5))
        else:
            s.event(ADD_PAYMENT_METHOD, dwell(draw, 12, 0.5))
        decline = "" if draw.chance(0.18) else CARD_TEST_DECLINES.pick(draw)
        pay(s, draw, shop.clock, dwell(draw, 3, 0.4), items, ctx.stolen_card(), decline, label)
        if restart:
            t = s.close() + dwell(draw, 8, 0.5)
            s = None
    if s is not None:
        s.close()
    return n


def stolen_card_new_account(ctx: FraudContext, budget: int) -> int:
    """A fresh account (signed up minutes to days before) whose first payment is a large
    basket paid with a card from another country than the profile's, on a new device."""
    draw, chunk, shop = ctx.draw, ctx.chunk, ctx.shop
    label = Label("stolen_card_new_account", chunk.new_incident())
    country = COUNTRY.pick(draw)
    zone = pick_zone(draw, country)
    pay_country = ctx.foreign_country(country)
    device = chunk.devices.new(FRAUD_DEVICE.pick(draw))
    ip = draw.hex64()
    t = ctx.local_time(zone, DAY_HOURS_CUM if draw.chance(0.7) else _NIGHT_ONLY, 1)
    in_session = draw.chance(0.55)
    signup = (
        t + int(draw.uniform(20, 120) * MS_S) if in_session else t - draw.integers(1, 48) * MS_H
    )
    cust = ctx.new_account(signup, country, zone, (device,))
    n_sessions = min(1 + draw.chance(0.35) + draw.chance(0.1), budget)
    made = 0
    for _ in range(n_sessions):
        if made >= budget:
            break
        utm = "direct" if draw.chance(0.45) else "google" if draw.chance(0.6) else "facebook"
        s = ctx.session(cust, t, device, ip, pay_country, utm)
        items = _big_basket(ctx, draw.lognormal(120_000, 0.4), 50_000)
        browse(s, draw, shop.catalog, items[0][0], draw.integers(1, 2))
        quick = draw.chance(0.4)
        fill_cart(s, draw, items, quick)
        checkout(s, draw, items, quick, new_method=True)
        tender = ctx.stolen_card(pay_country)
        decline = draw.choice(("fraud_suspected", "do_not_honor")) if draw.chance(0.2) else ""
        after = max(dwell(draw, 8, 0.5), signup + dwell(draw, 10, 0.5) - s.t)
        pay(s, draw, shop.clock, after, items, tender, decline, label)
        made += 1
        if decline and made < budget and draw.chance(0.6):
            s.event(ADD_PAYMENT_METHOD, dwell(draw, 20, 0.5))
            decline = "fraud_suspected" if draw.chance(0.3) else ""
            tender = ctx.stolen_card(pay_country)
            pay(s, draw, shop.clock, dwell(draw, 6, 0.5), items, tender, decline, label)
            made += 1
        t = ctx.clamp(s.close() + int(draw.uniform(0.5, 20) * MS_H))
    return made


def account_takeover(ctx: FraudContext, budget: int) -> int:
    """An established customer suddenly on a new device (often from abroad) pays several
    baskets within minutes, each several times their usual amount."""
    draw, chunk, shop = ctx.draw, ctx.chunk, ctx.shop
    if not ctx.victims:
        return 0
    cust = ctx.victims.pop()
    profile = chunk.profiles[cust]
    label = Label("account_takeover", chunk.new_incident())
    t = ctx.local_time(profile.zone, DAY_HOURS_CUM, after=_first_success(chunk, cust) + MS_H)
    earlier = [p.amount for p in chunk.history[cust] if p.success and p.ts < t]
    usual = sum(earlier) / len(earlier)
    n = min(_ATO_PAYMENTS.pick(draw), budget)
    device = chunk.devices.new(FRAUD_DEVICE.pick(draw))
    country = ctx.foreign_country(profile.country) if draw.chance(0.55) else profile.country
    utm = "direct" if draw.chance(0.6) else "email" if draw.chance(0.5) else "google"
    s = ctx.session(cust, t, device, draw.hex64(), country, utm)
    saved = usual_tender(draw, profile, s.device_kind)
    for i in range(n):
        items = _big_basket(ctx, usual * draw.uniform(3.5, 8.0), max(25_000, int(3.2 * usual)))
        if i == 0:
            browse(s, draw, shop.catalog, items[0][0], 1)
        else:
            s.event(PRODUCT_VIEW, dwell(draw, 20, 0.5), items[0][0])
        fill_cart(s, draw, items, quick=True)
        new_card = draw.chance(0.4)
        checkout(s, draw, items, quick=True, new_method=new_card)
        tender = ctx.stolen_card() if new_card else saved
        decline = "fraud_suspected" if draw.chance(0.12) else ""
        pay(s, draw, shop.clock, dwell(draw, 10, 0.5), items, tender, decline, label)
        s.event(PAGE_VIEW, dwell(draw, 40, 0.6))
    s.close()
    return n


def device_ring(ctx: FraudContext, budget: int) -> int:
    """One device (and usually one IP) behind 3-6 fresh accounts created over a few days,
    each buying resellable goods soon after signing up."""
    draw, chunk, shop = ctx.draw, ctx.chunk, ctx.shop
    label = Label("device_ring", chunk.new_incident())
    device = chunk.devices.new(FRAUD_DEVICE.pick(draw))
    ring_ip = draw.hex64()
    ring_country = COUNTRY.pick(draw)
    t0 = ctx.local_time(pick_zone(draw, ring_country), DAY_HOURS_CUM, 6)
    accounts = min(draw.integers(3, 6), budget)
    extra = budget - accounts  # payments left for second purchases
    made = 0
    for _ in range(accounts):
        country = ring_country if draw.chance(0.65) else COUNTRY.pick(draw)
        signup = ctx.clamp(t0 + int(draw.random() * 4 * MS_DAY))
        cust = ctx.new_account(signup, country, pick_zone(draw, country), (device,))
        t = ctx.clamp(signup + int(draw.uniform(0.03, 36) * MS_H))
        purchases = 2 if extra > 0 and draw.chance(0.3) else 1
        extra -= purchases - 1
        for _ in range(purchases):
            ip = ring_ip if draw.chance(0.75) else draw.hex64()
            s = ctx.session(cust, t, device, ip, ring_country, _RING_SOURCE.pick(draw))
            items = _big_basket(ctx, draw.lognormal(45_000, 0.4), 15_000)
            browse(s, draw, shop.catalog, items[0][0], draw.integers(1, 3))
            fill_cart(s, draw, items)
            checkout(s, draw, items, quick=False, new_method=True)
            decline = "do_not_honor" if draw.chance(0.1) else ""
            tender = ctx.stolen_card(ring_country)
            pay(s, draw, shop.clock, dwell(draw, 15, 0.5), items, tender, decline, label)
            made += 1
            t = ctx.clamp(s.close() + int(draw.uniform(2, 30) * MS_H))
    return made


def low_signal(ctx: FraudContext, budget: int) -> int:
    """Fraud that looks like the customer's normal shopping (e.g. a card used on the victim's
    own device by a housemate): usual device, home country, daytime, ordinary amount."""
    draw, chunk, shop = ctx.draw, ctx.chunk, ctx.shop
    if not ctx.victims:
        return 0
    cust = ctx.victims.pop()
    profile = chunk.profiles[cust]
    label = Label("low_signal", chunk.new_incident())
    n = min(1 + draw.chance(0.2), budget)
    after = _first_success(chunk, cust) + MS_H
    for _ in range(n):
        t = ctx.local_time(profile.zone, _DAYTIME, after=after)
        earlier = [h for h in chunk.history[cust] if h.ts < t]
        paid = [h.amount for h in earlier if h.success]
        # the device the customer last paid with, and an amount in their usual range
        device = earlier[-1].device
        utm = profile.source if profile.source != "direct" else "seo"
        s = ctx.session(cust, t, device, profile.home_ip, profile.country, utm)
        target = min(draw.lognormal(profile.spend_cents, 0.3), 1.8 * sum(paid) / len(paid))
        items = shop.catalog.basket(draw, target)
        browse(s, draw, shop.catalog, items[0][0], draw.integers(2, 4))
        fill_cart(s, draw, items)
        checkout(s, draw, items, quick=False, new_method=False)
        tender = usual_tender(draw, profile, s.device_kind)
        pay(s, draw, shop.clock, dwell(draw, 25, 0.5), items, tender, "", label)
        after = s.close() + MS_H
    return n


_DAYTIME = cumulative([0] * 9 + [1] * 11 + [0] * 4)  # 09:00-20:00 local


def _first_success(chunk: Chunk, cust: int) -> int:
    return min(p.ts for p in chunk.history[cust] if p.success)


def _big_basket(ctx: FraudContext, target: float, floor: int) -> list[Item]:
    """A basket of at least ``floor`` cents: resellable goods, several units when needed."""
    items = ctx.shop.catalog.basket(ctx.draw, max(target, floor))
    product, qty, price = items[0]
    while basket_total(items) < floor or (price * qty < target / 1.6 and qty < 3):
        qty += 1
        items[0] = (product, qty, price)
    return items


@dataclass(frozen=True)
class FraudScenario:
    name: str
    min_payments: int  # an incident never has fewer payments than this
    run: Callable[[FraudContext, int], int]  # (context, payment budget) -> payments made


FRAUD: Mapping[str, FraudScenario] = {
    s.name: s
    for s in (
        FraudScenario("card_testing", 3, card_testing),
        FraudScenario("stolen_card_new_account", 1, stolen_card_new_account),
        FraudScenario("account_takeover", 2, account_takeover),
        FraudScenario("device_ring", 3, device_ring),
        FraudScenario("low_signal", 1, low_signal),
    )
}
assert tuple(FRAUD) == FRAUD_SCENARIOS, "keep scenarios in schema order"


class FraudBudget:
    """Spreads fraud over chunks so that fraud payments / all payments == fraud_rate overall.

    Targets are cumulative, so what one chunk could not place (no victim, burst too short for
    the remaining budget) is carried to the next chunk instead of being lost.
    """

    def __init__(self, fraud_rate: float, mix: Mapping[str, float]) -> None:
        self._ratio = fraud_rate / (1.0 - fraud_rate)
        self._mix = mix
        self._legit = 0
        self.made: dict[str, int] = {name: 0 for name in FRAUD_SCENARIOS}

    def inject(self, ctx: FraudContext, legit_payments: int) -> None:
        self._legit += legit_payments
        wanted_total = self._ratio * self._legit
        for name in FRAUD_SCENARIOS:
            scenario = FRAUD[name]
            left = round(wanted_total * self._mix[name]) - self.made[name]
            while left >= scenario.min_payments:
                made = scenario.run(ctx, left)
                if made == 0:
                    break
                left -= made
                self.made[name] += made


def established_victims(draw: Draw, chunk: Chunk, shop: Shop) -> list[int]:
    """Customers who can be taken over: old accounts with a successful payment at least two
    days before the end of the window (so the fraud can come a day later), in random order."""
    cutoff = shop.clock.start_ms - 30 * MS_DAY
    last = shop.clock.end_ms - 2 * MS_DAY
    eligible = [
        p.local
        for p in chunk.profiles
        if p.signup_ms < cutoff and any(h.success and h.ts < last for h in chunk.history[p.local])
    ]
    return [eligible[i] for i in draw.permutation(len(eligible)).tolist()]
