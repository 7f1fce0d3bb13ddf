"""Per-flow track records, kept beside the flows (in `.webmem/stats.json`), never inside them: reviewers
should not see counters churn. Updated under a lock and written atomically, so concurrent runs and a
killed process leave a readable file.

A flow that failed `quarantine_after` times in a row is quarantined: lookups skip it (and say so) until
it succeeds again, its file changes (re-recorded, healed or edited), or it is released by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from webmem.errors import StoreError
from webmem.flow import flowfile

QUARANTINE_AFTER = 3


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class FlowStats(BaseModel):
    runs: int = 0
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    heals: int = Field(0, description="runs that needed a repair")
    handovers: int = 0
    last_success: str | None = None
    last_failure: str | None = None
    replay_ms_total: float = 0.0
    learn_calls: int = Field(0, description="model calls it took to learn this flow")
    learn_tokens: int = 0
    learn_ms: float = 0.0
    quarantined: str | None = Field(None, description="the file digest it was quarantined at")
    quarantine_reason: str | None = None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.runs if self.runs else None

    @property
    def mean_replay_ms(self) -> float | None:
        return self.replay_ms_total / self.runs if self.runs else None

    def is_quarantined(self, digest: str) -> bool:
        """Quarantine holds for the file as it was; a changed file gets its chance again."""
        return self.quarantined is not None and self.quarantined == digest

    def record_run(self, passed: bool, duration_ms: float, healed: bool, digest: str, error: str | None,
                   quarantine_after: int) -> None:
        self.runs += 1
        self.replay_ms_total += duration_ms
        self.heals += healed
        if passed:
            self.successes += 1
            self.consecutive_failures = 0
            self.last_success = now()
            self.quarantined = self.quarantine_reason = None
            return
        self.failures += 1
        self.consecutive_failures += 1
        self.last_failure = now()
        if self.consecutive_failures >= quarantine_after:
            self.quarantined = digest
            self.quarantine_reason = f"failed {self.consecutive_failures} times in a row; last: {error}"


class Totals(BaseModel):
    hits: int = Field(0, description="a stored flow fitted and was replayed (whatever happened next)")
    misses: int = Field(0, description="no stored flow fitted")
    healed: int = Field(0, description="hits that passed after a repair")
    handed_over: int = Field(0, description="hits that broke and that the agent finished")
    learned: int = Field(0, description="misses the agent learned")
    failed: int = Field(0, description="tasks not done")
    model_calls: int = 0
    tokens: int = 0
    saved_calls: int = Field(0, description="estimated: what the hits would have cost the agent")
    saved_tokens: int = 0


class StoreStats(BaseModel):
    version: int = 1
    totals: Totals = Field(default_factory=Totals)
    flows: dict[str, FlowStats] = Field(default_factory=dict, description="by flow file, relative to the store")

    def of(self, rel: str) -> FlowStats:
        return self.flows.setdefault(rel, FlowStats())


def stats_path(root: Path) -> Path:
    return root / flowfile.LOCAL_DIR / "stats.json"


def load(root: Path) -> StoreStats:
    path = stats_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return StoreStats()
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the flow statistics: {exc}") from None
    try:
        return StoreStats.model_validate_json(data)
    except ValidationError as exc:
        # never overwrite what cannot be read: the user decides (delete it to start counting afresh)
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the file"
        raise StoreError(f"{path}: the flow statistics are not readable ({where}: {first['msg']}); "
                         "move the file away to start counting afresh") from None


_SNAPSHOTS: dict[Path, tuple[tuple[int, int, int, int], StoreStats]] = {}


def snapshot(root: Path) -> StoreStats:
    """The statistics as they are, to read and not to change: parsed again only when the file changed
    (every write is a rename), so a process that looks up often reads a large file once per change."""
    path = stats_path(root)
    try:
        st = path.stat()
    except OSError:
        return load(root)  # missing: empty; unreadable: the error
    stamp = (st.st_mtime_ns, st.st_size, st.st_ctime_ns, st.st_ino)
    cached = _SNAPSHOTS.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    record = load(root)  # (changed since the stat: cached under the old stamp, so read again next time)
    _SNAPSHOTS[path] = (stamp, record)
    return record


@contextmanager
def updating(root: Path) -> Iterator[StoreStats]:
    """Read, change and write the statistics under the store's stats lock."""
    path = stats_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with flowfile.locked(path):
        stats = load(root)
        yield stats
        flowfile.write_atomic(path, stats.model_dump_json(indent=2) + "\n")

