"""Sharing, measured: pack, push and pull of 1,000 flows through a real OCI registry (Debian's docker-registry on
127.0.0.1, as the tests use), time and size; then lookups in a store of 10,000 flows of which a third were
pulled (in `shared/` folders, each with its provenance sidecar), against the same store all local — the figure
bench/cache.py measures (goal there: a lookup in <= 5 ms median, p95 <= 10 ms; here: no regression).

    .venv/bin/python bench/share.py [--flows 1000] [--store 10000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.registry_server import RegistryServer  # noqa: E402
from webmem.cache import stats  # noqa: E402
from webmem.cache.memory import Memory  # noqa: E402
from webmem.cache.store import FlowStore  # noqa: E402
from webmem.flow.flowfile import dump_flow, load_flow  # noqa: E402
from webmem.page import signature  # noqa: E402
from webmem.share import bundle, oci, provenance  # noqa: E402
from webmem.share.install import pull  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def texts() -> tuple[list[str], list]:
    """One flow text per page variant (as bench/cache.py makes them); each flow then differs in name, task, URL."""
    template = load_flow(ROOT / "flows" / "create-customer.yaml").flow
    first_page = next(s.page for s in template.steps if s.page)
    base_tokens = template.pages[first_page].signature.tokens
    variants = [signature.from_tokens([*base_tokens, f"checkbox|variant {v}|input|checkbox|v{v}"]) for v in range(4)]
    out = []
    for sig in variants:
        pages = {first_page: template.pages[first_page].model_copy(update={"signature": sig})}
        out.append(dump_flow(template.model_copy(update={
            "name": "NAME", "task": "TASK", "pages": pages,
            "steps": [template.steps[0].model_copy(update={"goto": "/START/new"}), *template.steps[1:]]})))
    return out, variants


def flow_text(base: list[str], i: int, tasks: int) -> str:
    task_no, variant = i % tasks, i // tasks
    return base[variant].replace("name: NAME", f"name: flow-{i}", 1).replace(
        "task: TASK", f"task: Do task number {task_no} with the given name and email", 1).replace(
        "goto: /START/new", f"goto: /area-{task_no % 50}/new", 1)


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def share(n: int, tmp: Path) -> None:
    base, _ = texts()
    src = tmp / "team-a"
    src.mkdir()
    for i in range(n):
        (src / f"flow-{i}.yaml").write_text(flow_text(base, i, max(1, n // 4)), encoding="utf-8")
    with stats.updating(src) as record:  # flows in use: each has a track record for the manifest
        for i in range(n):
            record.of(f"flow-{i}.yaml").record_run(True, 900.0, False, "0" * 16, None, 3)
    key = tmp / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(key)], check=True)
    t0 = time.perf_counter()
    bundle.pack([src], tmp / "bundle", key=key, signer="bench@example.com")
    pack_s = time.perf_counter() - t0
    registry = RegistryServer()
    try:
        ref = f"{registry.host}/bench/flows:v1"
        t0 = time.perf_counter()
        oci.push(tmp / "bundle", ref, insecure=True)
        push_s = time.perf_counter() - t0
        stored = size(registry.dir / "data")
        store = tmp / "team-b"
        (store / ".webmem" / "trust").mkdir(parents=True)
        (store / ".webmem" / "trust" / "allowed_signers").write_text(
            f"bench@example.com {key.with_suffix('.pub').read_text()}")
        t0 = time.perf_counter()
        got = pull(ref, store, insecure=True)
        pull_s = time.perf_counter() - t0
    finally:
        registry.stop()
    assert got.checked.level == "trusted" and len(got.flows) == n
    flows_bytes = size(src) - size(src / ".webmem")
    print(f"{n} flows ({flows_bytes / 1e6:.2f} MB of flow files); load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"  pack (manifest with track records, signed)  {pack_s:7.2f} s   bundle {size(tmp / 'bundle') / 1e6:.2f} MB "
          f"(manifest {(tmp / 'bundle' / 'manifest.json').stat().st_size / 1e6:.2f} MB)")
    print(f"  push to the registry                         {push_s:7.2f} s   stored {stored / 1e6:.2f} MB "
          f"(config + one tar layer + signature)")
    print(f"  pull, verify (sha256 each, signature), store {pull_s:7.2f} s   "
          f"{n / pull_s:.0f} flows/s into the store, each with its provenance")


def lookups(n_flows: int, tmp: Path, samples: int = 500) -> None:
    base, variants = texts()
    tasks = n_flows // 4
    rng = random.Random(7)
    inputs = {"full_name": "Ada", "email": "ada@example.com"}
    where: dict[str, dict[int, str]] = {}
    for layout in ("all local", "a third pulled"):
        root = tmp / layout.replace(" ", "-")
        root.mkdir()
        paths = {}
        for i in range(n_flows):
            rel = f"flow-{i}.yaml" if layout == "all local" or i % 3 else f"shared/team-{i % 7}/flow-{i}.yaml"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(flow_text(base, i, tasks), encoding="utf-8")
            paths[i] = rel
            if rel.startswith("shared/"):
                provenance.write(provenance.sidecar(root, rel), provenance.Provenance(
                    level="trusted", source="127.0.0.1:5000/bench/flows:v1", signer="bench@example.com",
                    bundle="0" * 64, digest="0" * 64, current="0" * 64, origins=["http://127.0.0.1:8000"]))
        where[layout] = paths
        FlowStore(root).sync()
        with stats.updating(root) as record:
            for rel in paths.values():
                record.of(rel).record_run(True, 900.0, False, "0" * 16, None, 3)

    def look(memory: Memory, paths: dict[int, str]) -> bool:
        task_no, variant = rng.randrange(tasks), rng.randrange(4)
        found = memory.lookup(f"Do task number {task_no} with the given name and email", inputs,
                              f"http://127.0.0.1:8000/area-{task_no % 50}/new", variants[variant])
        return found.pick is not None and found.pick.entry.path == paths[task_no + variant * tasks]

    print(f"\nlookups in a store of {n_flows} flows ({tasks} tasks x 4 page variants), {samples} each, alternating")
    memories = {layout: Memory(tmp / layout.replace(" ", "-"), agent="heuristic") for layout in where}
    times: dict[str, list[float]] = {layout: [] for layout in where}
    right = dict.fromkeys(where, 0)
    for _ in range(samples):
        for layout, memory in memories.items():
            t = time.perf_counter()
            right[layout] += look(memory, where[layout])
            times[layout].append((time.perf_counter() - t) * 1000)
    for layout, got in times.items():
        got.sort()
        print(f"  {layout:<16} median {statistics.median(got):6.2f} ms   p95 {got[int(len(got) * 0.95)]:6.2f} ms   "
              f"right flow {right[layout]}/{samples}")
    pulled = tmp / "a-third-pulled" / "shared/team-0/flow-0.yaml"
    t0 = time.perf_counter()
    for _ in range(1000):
        provenance.of_flow(pulled)
    print(f"  a replay's look at a flow's provenance: {(time.perf_counter() - t0):.3f} ms "
          f"(pulled flow; once per run, not per lookup)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=1000, help="flows to pack, push and pull")
    ap.add_argument("--store", type=int, default=10_000, help="flows in the store for lookups")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "share").mkdir()
        share(args.flows, Path(tmp) / "share")
        (Path(tmp) / "lookup").mkdir()
        lookups(args.store, Path(tmp) / "lookup")


if __name__ == "__main__":
    main()
