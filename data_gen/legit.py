"""A legitimate customer's window: visits that end before paying, and purchases."""

from __future__ import annotations

from dataclasses import replace

from data_gen.clock import MS_DAY, MS_H, MS_MIN
from data_gen.funnel import (
    PAGE_VIEW,
    PRODUCT_VIEW,
    Chunk,
    Session,
    Shop,
    browse,
    campaign,
    checkout,
    dwell,
    fill_cart,
)
from data_gen.profiles import SOURCE, Profile, make_profile
from data_gen.rand import Choices, Draw
from data_gen.scenarios import (
    PhoneSwitch,
    activity_hours,
    assign_behaviours,
    big_purchase_factor,
    checkout_style,
    legit_payment,
    plan_new_phone,
    plan_trip,
)

# Mean sessions per customer over the reference 61-day window, per segment: ending in a
# purchase / ending before paying.  Other window lengths scale these rates.
REFERENCE_WINDOW_MS = 61 * MS_DAY
# Most registered customers buy rarely; regulars and loyal ones make most payments.
PURCHASES = {"occasional": 0.57, "regular": 4.22, "loyal": 9.9}
VISITS = {"occasional": 1.47, "regular": 2.23, "loyal": 3.25}
# How far a visit without purchase goes down the funnel.
ABANDON: Choices[str] = Choices(
    (("bounce", 0.38), ("browse", 0.34), ("cart", 0.18), ("checkout", 0.10))
)
ESTABLISHED_MS = 30 * MS_DAY  # account age before the window that counts as "established"


def new_customer(draw: Draw, shop: Shop, chunk: Chunk, segment: str) -> Profile:
    profile = make_profile(
        draw, shop.clock, chunk.devices, shop.bins, len(chunk.profiles), segment=segment
    )
    established = profile.signup_ms < shop.clock.start_ms - ESTABLISHED_MS
    profile = replace(profile, behaviours=assign_behaviours(draw, established))
    chunk.add_profile(profile)
    return profile


def live(draw: Draw, shop: Shop, chunk: Chunk, p: Profile) -> int:
    """Generate the customer's sessions in time order; returns how many declines were retried."""
    clock = shop.clock
    begin = max(clock.start_ms, p.signup_ms)
    last_start = clock.end_ms - MS_H  # sessions last minutes; keep them inside the window
    if begin >= last_start:
        return 0
    share = (clock.end_ms - begin) / REFERENCE_WINDOW_MS
    n_buy = draw.poisson(PURCHASES[p.segment] * share)
    n_visit = draw.poisson(VISITS[p.segment] * share)
    hours = activity_hours(p)
    first_day = (begin - clock.start_ms) // MS_DAY
    plans: list[tuple[int, bool]] = []
    if p.signup_ms >= clock.start_ms:
        # Registration happens during a visit, often at checkout.
        plans.append((p.signup_ms - int(draw.uniform(1, 6) * MS_MIN), draw.chance(0.65)))
    for k in range(n_buy + n_visit):
        t = clock.local_time_on_day(draw, p.zone, clock.random_day(draw, first_day), hours)
        if t >= begin:
            plans.append((t, k < n_buy))
    plans.sort()
    trip = plan_trip(draw, shop, p)
    switch = plan_new_phone(draw, shop, chunk, p)
    buys = [i for i, (_, buy) in enumerate(plans) if buy]
    # A big purchase only stands out against earlier ones, so never the first.
    big = draw.choice(buys[1:]) if "big_purchase" in p.behaviours and len(buys) > 1 else -1
    retries = 0
    prev_end = 0
    for i, (t, buy) in enumerate(plans):
        t = max(t, prev_end + int(draw.uniform(10, 120) * MS_MIN))
        if t > last_start:
            break
        device = _device(draw, chunk, p, switch, t, buy)
        away = trip is not None and trip.start <= t < trip.end
        if trip is not None and away:
            country, ip = trip.country, trip.ip
        else:
            country = p.country
            home = chunk.devices.kinds[device] == "desktop" and draw.chance(0.92)
            ip = p.home_ip if home or draw.chance(0.4) else draw.hex64()
        utm = p.source if draw.chance(0.6) else SOURCE.pick(draw)
        s = chunk.open_session(p.local, t, device, ip, country, utm, campaign(draw, clock, utm, t))
        if buy:
            retries += _purchase(draw, shop, s, p, i == big)
        else:
            _visit(draw, shop, s, p)
        prev_end = s.close()
    return retries


def _device(
    draw: Draw, chunk: Chunk, p: Profile, switch: PhoneSwitch | None, t: int, buy: bool
) -> int:
    devices = list(p.devices)
    if switch is not None and t >= switch.at:
        if switch.old >= 0:
            devices[devices.index(switch.old)] = switch.new
        else:
            devices.append(switch.new)
    if len(devices) == 1 or draw.chance(0.82 if buy else 0.7):
        return devices[0]
    return draw.choice(devices[1:])


def _purchase(draw: Draw, shop: Shop, s: Session, p: Profile, big: bool) -> int:
    catalog = shop.catalog
    target = draw.lognormal(p.spend_cents, 0.4)
    if big:
        target *= big_purchase_factor(draw)
    items = catalog.basket(draw, target)
    browse(s, draw, catalog, items[0][0], 1 + int(draw.exponential(0.8)))
    has_paid = any(h.success for h in s.chunk.history[p.local])
    quick, new_method = checkout_style(draw, p, has_paid)
    regret = None
    if not quick and draw.chance(0.1):
        other = catalog.neighbours(draw, items[0][0])
        regret = (other, 1, catalog.price(other))
    fill_cart(s, draw, items, quick, regret)
    checkout(s, draw, items, quick, new_method)
    after = dwell(draw, 6, 0.4) if quick else dwell(draw, 20 if new_method else 45, 0.5)
    # A visitor who registers at checkout pays once the account exists.
    after = max(after, p.signup_ms + dwell(draw, 15, 0.5) - s.t)
    return legit_payment(s, draw, shop, p, items, after)


def _visit(draw: Draw, shop: Shop, s: Session, p: Profile) -> None:
    catalog = shop.catalog
    kind = ABANDON.pick(draw)
    focus = catalog.near_price(draw, draw.lognormal(p.spend_cents, 0.6))
    if kind == "bounce":
        if draw.chance(0.6):
            s.event(PAGE_VIEW, 0)
        else:
            s.event(PRODUCT_VIEW, 0, focus)
        if draw.chance(0.3):
            s.event(PRODUCT_VIEW, dwell(draw, 15), catalog.neighbours(draw, focus))
        return
    browse(s, draw, catalog, focus, draw.integers(1, 4))
    if kind == "browse":
        return
    items = [(focus, 1, catalog.price(focus))]
    fill_cart(s, draw, items)
    if kind == "checkout":
        checkout(s, draw, items, quick=False, new_method=draw.chance(0.4))
