"""Writing a dataset: chunk rows to CSV/JSONL, hashed as written, globally time-ordered.

payments.csv and events.jsonl must be in event-time order over the whole dataset, but chunks
are generated one after another and each spans the whole window.  Each chunk therefore writes
its rows, already sorted, as a *run* file whose lines start with a fixed-width sort key (the
ISO timestamp followed by the row's identifier, both fixed-width, so byte order is (time, id)
order); the runs are k-way merged at the end and the keys cut off.  Memory
stays bounded by one chunk plus one buffered line per run.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_gen.catalog import N_PRODUCTS, Catalog
from data_gen.clock import iso_ms
from data_gen.funnel import Chunk
from data_gen.schema import (
    CUSTOMERS,
    EVENT_TYPES,
    EVENTS_FILE,
    ORDER_ITEMS,
    ORDERS,
    PAYMENTS,
    PRODUCTS,
    SESSIONS,
)

ISO_WIDTH = len("2025-11-03T14:22:05.123Z")
_MERGE_FAN_IN = 128  # runs merged at once; bounds open files
_FLUSH_LINES = 8192

RowsCallback = Callable[[int, int], None]  # (rows merged so far, total rows)


@dataclass(frozen=True)
class FileInfo:
    name: str
    rows: int  # data rows, header excluded
    bytes: int
    sha256: str


class FileSink:
    """A binary output file that hashes and counts what goes through it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self._hash = hashlib.sha256()
        self._bytes = 0
        self.rows = 0

    def write(self, data: bytes, rows: int) -> None:
        self._file.write(data)
        self._hash.update(data)
        self._bytes += len(data)
        self.rows += rows

    def close(self) -> FileInfo:
        self._file.close()  # idempotent, so error paths may close again
        return FileInfo(self.path.name, self.rows, self._bytes, self._hash.hexdigest())


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def csv_sink(path: Path, header: Sequence[str]) -> FileSink:
    sink = FileSink(path)
    sink.write(csv_text([header]).encode(), 0)
    return sink


class Runs:
    """Sorted run files of one output, merged into it at the end."""

    def __init__(self, tmp: Path, name: str, key_width: int) -> None:
        self._tmp = tmp
        self._name = name
        self._key_width = key_width
        self._paths: list[Path] = []
        self.rows = 0

    def add(self, lines: list[str]) -> None:
        """Append a run: lines already in key order, each starting with its key."""
        if not lines:
            return
        path = self._tmp / f"{self._name}.{len(self._paths):05d}.run"
        path.write_bytes("".join(lines).encode())
        self._paths.append(path)
        self.rows += len(lines)

    def merge_into(self, sink: FileSink, on_rows: RowsCallback | None = None) -> None:
        paths = self._paths
        if not paths:  # nothing generated (tiny scale): the file is just its header
            return
        level = 0
        while len(paths) > _MERGE_FAN_IN:  # rare: only for very large scales
            merged: list[Path] = []
            for g in range(0, len(paths), _MERGE_FAN_IN):
                out = self._tmp / f"{self._name}.L{level}.{g:05d}.run"
                with out.open("wb") as f:
                    for block in _merged_blocks(paths[g : g + _MERGE_FAN_IN], 0):
                        f.write(block)
                for p in paths[g : g + _MERGE_FAN_IN]:
                    p.unlink()
                merged.append(out)
            paths, level = merged, level + 1
        done = 0
        for block in _merged_blocks(paths, self._key_width):
            n = block.count(b"\n")
            sink.write(block, n)
            done += n
            if on_rows is not None:
                on_rows(done, self.rows)
        for p in paths:
            p.unlink()


def _merged_blocks(paths: Sequence[Path], cut: int) -> Iterator[bytes]:
    """Lines of sorted runs in global order, in blocks, with the first ``cut`` bytes removed."""
    files = [p.open("rb", buffering=1 << 20) for p in paths]
    try:
        merged: Iterable[bytes] = heapq.merge(*files) if len(files) > 1 else files[0]
        batch: list[bytes] = []
        for line in merged:
            batch.append(line[cut:])
            if len(batch) == _FLUSH_LINES * 4:
                yield b"".join(batch)
                batch.clear()
        if batch:
            yield b"".join(batch)
    finally:
        for f in files:
            f.close()


def _ranks(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts ``values`` (ties by position) and each position's rank in it."""
    order = np.argsort(np.asarray(values, dtype=np.int64), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return order, rank


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class IdBases:
    """How many of each identifier earlier chunks used; a chunk numbers after them."""

    customers: int = 0
    devices: int = 0
    sessions: int = 0
    orders: int = 0
    payments: int = 0
    events: int = 0
    incidents: int = 0


class DatasetWriter:
    """Writes chunks as they come; :meth:`finish` merges the time-ordered files."""

    def __init__(self, out: Path, tmp: Path) -> None:
        self._out = out
        self._sinks = {
            "customers": csv_sink(out / "customers.csv", CUSTOMERS),
            "sessions": csv_sink(out / "sessions.csv", SESSIONS),
            "orders": csv_sink(out / "orders.csv", ORDERS),
            "order_items": csv_sink(out / "order_items.csv", ORDER_ITEMS),
        }
        self._payments = Runs(tmp, "payments", ISO_WIDTH + len("PAY00000001"))
        self._events = Runs(tmp, "events", ISO_WIDTH + len("E000000001"))
        self.ids = IdBases()
        self.infos: list[FileInfo] = []

    def write_products(self, catalog: Catalog) -> None:
        sink = csv_sink(self._out / "products.csv", PRODUCTS)
        created = iso_ms(np.array([p.created_ms for p in catalog.products]))
        rows = [
            (
                f"P{p.index + 1:04d}",
                p.name,
                p.category,
                int(p.adult_restricted),
                _money(p.price_cents),
                c,
            )
            for p, c in zip(catalog.products, created, strict=True)
        ]
        sink.write(csv_text(rows).encode(), len(rows))
        self.infos.append(sink.close())

    def write_chunk(self, chunk: Chunk) -> None:
        ids = self.ids
        c = chunk
        # Identifiers follow time order inside the chunk (customers by signup, devices by first
        # use), so an identifier never tells which generator produced the row.
        _, cust_rank = _ranks([p.signup_ms for p in c.profiles])
        cust_id = [f"C{ids.customers + r + 1:06d}" for r in cust_rank.tolist()]
        dev_id = self._device_ids(c)
        s_order, s_rank = _ranks(c.s_start)
        sess_id = [f"S{ids.sessions + r + 1:08d}" for r in s_rank.tolist()]
        o_order, o_rank = _ranks(c.o_ts)
        order_id = [f"O{ids.orders + r + 1:08d}" for r in o_rank.tolist()]
        p_order, p_rank = _ranks(c.p_ts)
        pay_id = [f"PAY{ids.payments + r + 1:08d}" for r in p_rank.tolist()]
        kinds = c.devices.kinds

        self._write_customers(c, cust_id, kinds)
        sess_cust = [cust_id[x] for x in c.s_cust]
        sess_dev = [dev_id[d] for d in c.s_dev]
        sess_kind = [kinds[d] for d in c.s_dev]
        rows = [
            (
                sess_id[s],
                sess_cust[s],
                st,
                en,
                sess_kind[s],
                sess_dev[s],
                c.s_ip[s],
                c.s_country[s],
                c.s_utm[s],
                c.s_campaign[s],
            )
            for s, st, en in zip(
                s_order.tolist(),
                iso_ms(np.asarray(c.s_start)[s_order]),
                iso_ms(np.asarray(c.s_end)[s_order]),
                strict=True,
            )
        ]
        self._sinks["sessions"].write(csv_text(rows).encode(), len(rows))

        self._write_orders(c, o_order, order_id, sess_id, sess_cust, pay_id)
        self._write_payments(c, p_order, pay_id, order_id, sess_id, sess_cust, sess_dev, sess_kind)
        self._write_events(c, sess_id, sess_cust, sess_dev, sess_kind, order_id, pay_id)

        ids.customers += len(c.profiles)
        ids.devices += sum(1 for d in dev_id if d)
        ids.sessions += len(c.s_start)
        ids.orders += len(c.o_ts)
        ids.payments += len(c.p_ts)
        ids.events += len(c.events)
        ids.incidents += c.n_incidents

    def _device_ids(self, c: Chunk) -> list[str]:
        """D-numbers for devices that appear, in order of first use; "" for unused ones."""
        n = len(c.devices.kinds)
        never = np.iinfo(np.int64).max
        first = np.full(n, never, dtype=np.int64)
        np.minimum.at(first, np.asarray(c.s_dev, dtype=np.int64), np.asarray(c.s_start))
        order = np.argsort(first, kind="stable")
        out = [""] * n
        for k, d in enumerate(order.tolist()):
            if first[d] == never:
                break
            out[d] = f"D{self.ids.devices + k + 1:06d}"
        return out

    def _write_customers(self, c: Chunk, cust_id: list[str], kinds: list[str]) -> None:
        by_id = sorted(range(len(c.profiles)), key=cust_id.__getitem__)
        signup = iso_ms(np.array([c.profiles[i].signup_ms for i in by_id], dtype=np.int64))
        rows = []
        for i, ts in zip(by_id, signup, strict=True):
            p = c.profiles[i]
            rows.append(
                (
                    cust_id[i],
                    ts,
                    p.country,
                    p.timezone,
                    kinds[p.devices[0]],
                    p.source,
                    p.spend_level,
                    p.segment,
                    p.birthdate.isoformat(),
                    int(p.is_minor),
                )
            )
        self._sinks["customers"].write(csv_text(rows).encode(), len(rows))

    def _write_orders(
        self,
        c: Chunk,
        o_order: np.ndarray,
        order_id: list[str],
        sess_id: list[str],
        sess_cust: list[str],
        pay_id: list[str],
    ) -> None:
        # pay() appends an order's items right after the order, so items are grouped by order.
        bounds = np.searchsorted(np.asarray(c.i_order), np.arange(len(c.o_ts) + 1)).tolist()
        rows = []
        items = []
        for o, ts in zip(o_order.tolist(), iso_ms(np.asarray(c.o_ts)[o_order]), strict=True):
            s = c.o_sess[o]
            rows.append(
                (
                    order_id[o],
                    sess_cust[s],
                    sess_id[s],
                    pay_id[c.o_pay[o]],
                    ts,
                    _money(c.o_total[o]),
                    "EUR",
                    c.o_ship[o],
                    c.o_status[o],
                )
            )
            for k in range(bounds[o], bounds[o + 1]):
                items.append(
                    (order_id[o], f"P{c.i_prod[k] + 1:04d}", c.i_qty[k], _money(c.i_price[k]))
                )
        self._sinks["orders"].write(csv_text(rows).encode(), len(rows))
        self._sinks["order_items"].write(csv_text(items).encode(), len(items))

    def _write_payments(
        self,
        c: Chunk,
        p_order: np.ndarray,
        pay_id: list[str],
        order_id: list[str],
        sess_id: list[str],
        sess_cust: list[str],
        sess_dev: list[str],
        sess_kind: list[str],
    ) -> None:
        ts_ms = np.asarray(c.p_ts, dtype=np.int64)[p_order]
        rows = []
        keys = []
        for p, ts in zip(p_order.tolist(), iso_ms(ts_ms), strict=True):
            s = c.p_sess[p]
            label = c.p_label[p]
            o = c.p_order[p]
            incident = f"INC{self.ids.incidents + label.incident + 1:05d}" if label.scenario else ""
            keys.append(ts + pay_id[p])
            rows.append(
                (
                    pay_id[p],
                    sess_cust[s],
                    sess_id[s],
                    order_id[o] if o >= 0 else "",
                    ts,
                    c.p_method[p],
                    c.p_bin[p],
                    c.s_country[s],
                    c.s_ip[s],
                    sess_kind[s],
                    sess_dev[s],
                    c.s_utm[s],
                    _money(c.p_amount[p]),
                    "EUR",
                    "failed" if c.p_decline[p] else "success",
                    c.p_decline[p],
                    int(bool(label.scenario)),
                    label.scenario,
                    incident,
                )
            )
        lines = csv_text(rows).splitlines(keepends=True)
        self._payments.add([k + line for k, line in zip(keys, lines, strict=True)])

    def _write_events(
        self,
        c: Chunk,
        sess_id: list[str],
        sess_cust: list[str],
        sess_dev: list[str],
        sess_kind: list[str],
        order_id: list[str],
        pay_id: list[str],
    ) -> None:
        base = self.ids.events
        # JSON fragments per session and per referenced id; every value is an identifier or a
        # fixed-vocabulary code, so no JSON escaping is needed.
        head = [
            f'"customer_id":"{sess_cust[s]}","session_id":"{sess_id[s]}"'
            for s in range(len(sess_id))
        ]
        tail = [
            f'"device":"{sess_kind[s]}","device_id":"{sess_dev[s]}",'
            f'"utm_source":"{c.s_utm[s]}","country":"{c.s_country[s]}"'
            for s in range(len(sess_id))
        ]
        product = ["null", *(f'"P{i + 1:04d}"' for i in range(N_PRODUCTS))]
        payment = ["null", *(f'"{x}"' for x in pay_id)]
        order = ["null", *(f'"{x}"' for x in order_id)]
        kind = [f'"{t}"' for t in EVENT_TYPES]

        ts_all, *columns = zip(*c.events, strict=True) if c.events else ((),) * 7
        e_order, _ = _ranks(list(ts_all))
        ts_ms = np.asarray(ts_all, dtype=np.int64)[e_order]
        cols = [np.asarray(col, dtype=np.int64)[e_order].tolist() for col in columns]
        money: dict[int, str] = {-1: "null"}  # amounts repeat (prices, baskets): format once
        lines = []
        seq = base
        for ts, s, ty, pr, am, pa, od in zip(iso_ms(ts_ms), *cols, strict=True):
            seq += 1
            eid = f"E{seq:09d}"
            amount = money.get(am) or money.setdefault(am, _money(am))
            # The ISO timestamp and id are fixed-width, so "ts + id" sorts in (time, id) order.
            lines.append(
                f'{ts}{eid}{{"event_id":"{eid}",{head[s]},"event_type":{kind[ty]},'
                f'"event_timestamp":"{ts}",{tail[s]},"product_id":{product[pr + 1]},'
                f'"amount":{amount},"payment_id":{payment[pa + 1]},"order_id":{order[od + 1]}}}\n'
            )
        self._events.add(lines)

    def close(self) -> None:
        """Release every open file (error path; :meth:`finish` closes them on success)."""
        for sink in self._sinks.values():
            sink.close()

    def finish(self, on_rows: RowsCallback | None = None) -> list[FileInfo]:
        """Close the per-chunk files and merge the time-ordered ones; returns every file."""
        infos = self.infos + [s.close() for s in self._sinks.values()]
        payments = csv_sink(self._out / "payments.csv", PAYMENTS)
        self._payments.merge_into(payments)
        infos.append(payments.close())
        events = FileSink(self._out / EVENTS_FILE)
        self._events.merge_into(events, on_rows)
        infos.append(events.close())
        return sorted(infos, key=lambda i: i.name)
