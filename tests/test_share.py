"""Sharing flows between teams (webmem.share) against a real OCI registry (Debian's docker-registry on
127.0.0.1) and the demo portal in real Chromium: pack, push, pull and verify; an altered file, a wrong key and
a flow acting on a site its manifest does not name are refused; an unsigned bundle is on probation (strict, no
repair written back) until the user's promotion rule is met; a pulled flow is a `webmem do` hit with no model;
a healed pulled flow records the heal as local, and packing it again signs it with the local key."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from webmem.browser.config import load_settings
from webmem.cache.memory import Memory
from webmem.cli.share import provenance_lines
from webmem.demo_site.app import DEMO_PASSWORD
from webmem.errors import ConfigError, FlowFormatError, InputError, TrustRefused
from webmem.flow.secrets_allow import SecretRefused
from webmem.playback.replayer import Replayer
from webmem.share import bundle, oci, provenance
from webmem.share.install import pull

from .conftest import FLOWS, run_webmem
from .registry_server import RegistryServer

FLOW = FLOWS / "create-customer.yaml"  # acts on http://127.0.0.1:8000


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryServer]:
    server = RegistryServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    for who in ("alice", "bob", "mallory"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(folder / who)],
                       check=True, timeout=30)
    return {who: folder / who for who in ("alice", "bob", "mallory")}


def trusting(store: Path, keys: dict[str, Path], *who: str) -> Path:
    """A store whose user lists these signers (git's allowed_signers format)."""
    folder = store / ".webmem" / "trust"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{w}@example.com {(keys[w].with_suffix('.pub')).read_text().strip()}" for w in who]
    (folder / "allowed_signers").write_text("\n".join(lines) + "\n")
    return store


def store_files(store: Path) -> dict[str, bytes]:
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*")
            if p.is_file() and ".webmem" not in p.parts}


def test_pack_push_pull_verify_and_refuse(registry: RegistryServer, keys: dict[str, Path], tmp_path: Path) -> None:
    packed = tmp_path / "bundle"
    manifest = bundle.pack([FLOW], packed, key=keys["alice"], signer="alice@example.com")
    assert sorted(p.name for p in packed.iterdir()) == ["create-customer.yaml", "manifest.json", "manifest.json.sig"]
    info = manifest.flows[0]
    assert (info.origins, info.inputs["plan"].required, manifest.flow_format) == (["http://127.0.0.1:8000"], False, 1)
    assert "pro" not in (packed / "manifest.json").read_text()  # inputs named, never valued (not even defaults)
    assert (packed / "create-customer.yaml").read_bytes() == FLOW.read_bytes()  # the flow as it is, for a reviewer

    ref = f"{registry.host}/team/portal:v1"
    assert oci.push(packed, ref, insecure=True).startswith("sha256:")
    # an OCI artifact of webmem's own type, in a registry nobody here wrote
    req = urllib.request.Request(f"http://{registry.host}/v2/team/portal/manifests/v1",
                                 headers={"Accept": oci.OCI_MANIFEST})
    with urllib.request.urlopen(req, timeout=10) as resp:
        artifact = json.load(resp)
    assert artifact["config"]["mediaType"] == "application/vnd.webmem.bundle.v1+json"
    assert sorted(layer["mediaType"] for layer in artifact["layers"]) == [oci.FLOWS_TYPE, oci.SIGNATURE_TYPE]

    store = trusting(tmp_path / "store", keys, "alice")
    got = pull(ref, store, insecure=True)
    assert (got.checked.level, got.checked.signer, got.flows) == \
        ("trusted", "alice@example.com", ["shared/portal/create-customer.yaml"])
    prov = provenance.of_flow(store / got.flows[0])
    assert prov is not None and (prov[1].level, prov[1].source, prov[1].origins) == \
        ("trusted", ref, ["http://127.0.0.1:8000"])
    assert prov[1].digest == info.sha256 and (store / got.flows[0]).read_bytes() == FLOW.read_bytes()
    shown = run_webmem("show", str(store / got.flows[0]))
    assert shown.returncode == 0 and f"pulled from {ref}" in shown.stdout and "signed by alice@example.com" in \
        shown.stdout and "trust: trusted" in shown.stdout, shown.stdout + shown.stderr
    before = store_files(store)

    def refused(folder: Path, why: str, target: Path = store) -> None:
        with pytest.raises(TrustRefused, match=why):
            pull(f"file:{folder}", target)
        assert store_files(store) == before  # nothing stored

    altered = tmp_path / "altered"
    shutil.copytree(packed, altered)
    with (altered / "create-customer.yaml").open("a") as fh:
        fh.write("# one more line\n")
    refused(altered, "create-customer.yaml was altered after packing")
    extra = tmp_path / "extra"
    shutil.copytree(packed, extra)
    (extra / "more.yaml").write_bytes(FLOW.read_bytes())
    refused(extra, "more.yaml is not listed in the manifest")

    # a wrong key: signed by mallory's key, naming alice as its signer
    bundle.pack([FLOW], tmp_path / "forged", key=keys["mallory"], signer="alice@example.com")
    refused(tmp_path / "forged", "names alice@example.com as its signer, but was signed with another key")
    # a manifest changed after alice signed it
    other = tmp_path / "swapped"
    shutil.copytree(packed, other)
    (other / "manifest.json").write_text((packed / "manifest.json").read_text().replace('"task": "', '"task": "Now '))
    refused(other, "bad signature")

    # a flow acting on a site its manifest does not name, although alice signed the manifest
    sneaky = tmp_path / "sneaky"
    bundle.pack([FLOW], sneaky)
    data = json.loads((sneaky / "manifest.json").read_text())
    data["flows"][0]["origins"] = ["http://127.0.0.1:9"]
    (sneaky / "manifest.json").write_text(json.dumps(data))
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keys["alice"]), "-n", "webmem-bundle",
                    str(sneaky / "manifest.json")], check=True, timeout=30)
    refused(sneaky, "acts on http://127.0.0.1:8000, which its manifest does not name")

    # the user's own list of sites: a bundle naming another is refused
    fenced = trusting(tmp_path / "fenced", keys, "alice")
    assert run_webmem("trust", "--store", str(fenced), "--allow-origin", "https://crm.example.com").returncode == 0
    with pytest.raises(TrustRefused, match="acts on http://127.0.0.1:8000, which you did not allow"):
        pull(f"file:{packed}", fenced)

    # unsigned, and signed by a key the user does not list: probation; through a plain folder too
    unknown = tmp_path / "unknown"
    bundle.pack([FLOW], unknown, key=keys["mallory"], signer="mallory@example.com")
    assert oci.push(unknown, f"file:{tmp_path / 'shelf'}") == str(tmp_path / "shelf")
    assert pull(f"file:{tmp_path / 'shelf'}", store, into="from-mallory").checked.level == "probation"
    bundle.pack([FLOW], tmp_path / "unsigned")
    got = pull(f"file:{tmp_path / 'unsigned'}", store, into="unsigned")
    assert (got.checked.level, got.checked.why) == ("probation", "unsigned")
    cli = run_webmem("pull", f"file:{altered}", "--store", str(store))
    assert cli.returncode == 2 and "refused" in cli.stderr and "Traceback" not in cli.stderr


def test_pulled_flow_is_stored_as_signed(tmp_path: Path) -> None:
    # a flow with CRLF line ends is stored byte for byte: its digest is the manifest's, and `webmem show` does not
    # take it for one changed by hand
    data = FLOW.read_bytes().replace(b"\n", b"\r\n")
    (tmp_path / "crlf.yaml").write_bytes(data)
    bundle.pack([tmp_path / "crlf.yaml"], tmp_path / "bundle")
    got = pull(f"file:{tmp_path / 'bundle'}", tmp_path / "store")
    stored = tmp_path / "store" / got.flows[0]
    assert stored.read_bytes() == data
    shown = provenance_lines(stored)
    assert not [line for line in shown if "changed here" in line] and shown[0].endswith(", unsigned"), shown
    # pulled again, it replaces what the earlier pull stored; never a flow of the user's own
    assert pull(f"file:{tmp_path / 'bundle'}", tmp_path / "store").flows == got.flows
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "crlf.yaml").write_bytes(FLOW.read_bytes())
    with pytest.raises(InputError, match="your own flow is there"):
        pull(f"file:{tmp_path / 'bundle'}", tmp_path / "mine", into=".")
    assert (tmp_path / "mine" / "crlf.yaml").read_bytes() == FLOW.read_bytes()


def test_push_refuses_an_incomplete_bundle(tmp_path: Path) -> None:
    bundle.pack([FLOW], tmp_path / "bundle")
    (tmp_path / "bundle" / FLOW.name).unlink()
    shelf = run_webmem("push", str(tmp_path / "bundle"), f"file:{tmp_path / 'shelf'}")
    assert shelf.returncode == 2 and f"{FLOW.name} listed in manifest.json but missing" in shelf.stderr
    assert not (tmp_path / "shelf").exists() and "Traceback" not in shelf.stderr
    # a file: bundle is read no larger than pack makes it (a sparse 1 GiB file: refused before it is copied)
    huge = tmp_path / "bundle" / FLOW.name
    with huge.open("wb") as fh:
        fh.truncate(1 << 30)
    pulled = run_webmem("pull", f"file:{tmp_path / 'bundle'}", "--store", str(tmp_path / "store"))
    assert pulled.returncode == 2 and f"{huge}: larger than 2097152 bytes" in pulled.stderr, pulled.stderr
    assert not list((tmp_path / "store").glob("**/*.yaml"))


def test_bad_flow_key_or_origins_file_is_one_error(tmp_path: Path) -> None:
    bundle.pack([FLOW], tmp_path / "bundle")
    (tmp_path / "store" / ".webmem" / "trust").mkdir(parents=True)
    (tmp_path / "store" / ".webmem" / "trust" / "origins").write_bytes(b"\xff\xfe not text\n")
    (tmp_path / "not-utf8").mkdir()
    (tmp_path / "not-utf8" / "bad.yaml").write_bytes(b"webmem: 1\nname: \xff\n")
    with pytest.raises(FlowFormatError, match="bad.yaml"):
        bundle.pack([tmp_path / "not-utf8"], tmp_path / "half")
    # a key that cannot sign leaves no bundle (an unsigned one is not left to push)
    with pytest.raises(InputError, match="no such key file"):
        bundle.pack([FLOW], tmp_path / "half", key=tmp_path / "no-key")
    assert not (tmp_path / "half").exists()
    with pytest.raises(ConfigError, match="origins: cannot be read as text"):
        pull(f"file:{tmp_path / 'bundle'}", tmp_path / "store")
    assert not (tmp_path / "store" / "shared").exists()


def b64_forms(secret: str) -> list[bytes]:
    """The secret as base64 at each alignment (inside a longer encoded text)."""
    forms = []
    for pad in range(3):
        enc = base64.b64encode(b"x" * pad + secret.encode())[4 if pad else 0:]
        forms.append(enc[: len(enc) - 4])
    return forms


def test_pulled_flows_on_the_portal(page: Page, portal, registry: RegistryServer, keys: dict[str, Path],
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # team A learns two tasks (one signs in with a secret) and replays one: a track record
    team_a = tmp_path / "team-a"
    memory = Memory(team_a, agent="heuristic")
    task, values = "Create a customer named Ada", {"full_name": "Ada", "email": "ada@example.com"}
    url = portal.url + "/customers/new"
    monkeypatch.setenv("PORTAL_PASSWORD", DEMO_PASSWORD)
    signin = memory.do(page, "Sign in as demo", {"username": "demo", "password": DEMO_PASSWORD},
                       url=portal.url + "/login", secrets={"password": "PORTAL_PASSWORD"})
    assert signin.ok, signin.error  # (learned: the secret was typed)
    for _ in range(2):
        assert memory.do(page, task, values, url=url).ok
    packed = tmp_path / "bundle"
    manifest = bundle.pack([team_a], packed, key=keys["alice"], signer="alice@example.com")
    record = {f.file: f for f in manifest.flows}["create-a-customer-named.yaml"].track_record
    assert record is not None and (record.runs, record.successes, record.success_rate) == (1, 1, 1.0)
    signin_info = {f.file: f for f in manifest.flows}["sign-in-as.yaml"]
    assert (signin_info.inputs["password"].secret, signin_info.inputs["password"].env) == (True, "PORTAL_PASSWORD")
    # nothing secret in the bundle, in any encoding
    forms = [DEMO_PASSWORD.encode(), urllib.parse.quote(DEMO_PASSWORD).encode(), DEMO_PASSWORD.encode().hex().encode(),
             json.dumps(DEMO_PASSWORD)[1:-1].encode(), *b64_forms(DEMO_PASSWORD)]
    for path in packed.iterdir():
        data = path.read_bytes()
        assert not [f for f in forms if f.lower() in data.lower()], path

    ref = f"{registry.host}/team-a/portal:v1"
    oci.push(packed, ref, insecure=True)

    # team B trusts alice: the pulled flow is a `webmem do` hit, no model
    team_b = trusting(tmp_path / "team-b", keys, "alice")
    assert pull(ref, team_b, insecure=True).checked.level == "trusted"
    done = run_webmem("do", url, "--task", "Create a customer named Bob", "-i", "full_name=Bob", "-i",
                      "email=bob@example.com", "--store", str(team_b), "--agent", "heuristic")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hit: replayed shared/portal/create-a-customer-named.yaml" in done.stdout and "0 model calls" in done.stdout

    # a pulled flow acts only where its bundle said, and its secret variable only where the user allows it
    pulled = team_b / "shared/portal/create-a-customer-named.yaml"
    elsewhere = portal.url.replace("127.0.0.1", "localhost")  # the same server, another site
    there = Replayer(heal="off", base_url=elsewhere).run(page, pulled, values)
    assert not there.passed and "the flow was pulled from a bundle that names only" in (there.error or "")
    assert there.steps[0].status == "failed" and page.url.startswith(portal.url)  # stopped before it went there
    mine = tmp_path / "mine.yaml"
    shutil.copy(pulled, mine)  # the same flow as the user's own runs there
    assert Replayer(heal="off", base_url=elsewhere).run(page, mine, values).passed
    with pytest.raises(SecretRefused, match="PORTAL_PASSWORD is not an allowed secret variable"):
        Replayer(heal="off").run(page, team_b / "shared/portal/sign-in-as.yaml", {"username": "demo"})
    settings = load_settings()
    settings.secret_env = {"PORTAL_PASSWORD": [portal.url]}
    assert Replayer(settings, heal="off").run(page, team_b / "shared/portal/sign-in-as.yaml",
                                              {"username": "demo"}).passed

    # team C pulls the same flows unsigned: probation. On a drifted page nothing is written back to it (a trusted
    # flow would be healed and rewritten: team B's, below)
    unsigned = tmp_path / "unsigned"
    bundle.pack([team_a / "create-a-customer-named.yaml"], unsigned)
    team_c = tmp_path / "team-c"
    assert pull(f"file:{unsigned}", team_c).checked.level == "probation"
    on_probation = team_c / "shared/unsigned/create-a-customer-named.yaml"
    text = on_probation.read_bytes()
    portal.set_variant("labels_reworded")
    strict = Memory(team_c, agent="heuristic", handover=False).do(page, task, values, url=url)
    assert strict.status == "failed" and strict.replay is not None
    assert on_probation.read_bytes() == text and strict.patch is None

    healed = Memory(team_b, agent="heuristic").do(page, task, values, url=url)
    assert (healed.status, healed.model_calls) == ("healed", 0)
    side, prov = provenance.of_flow(pulled) or (None, None)
    assert prov is not None and (prov.level, prov.local_heals, prov.signer) == ("trusted", 1, "alice@example.com")
    assert prov.current != prov.digest  # the heal is local: the signer's digest kept beside it
    shown = run_webmem("show", str(pulled))
    assert "healed here 1x since pulled" in shown.stdout
    repacked = bundle.pack([pulled], tmp_path / "repacked", key=keys["bob"], signer="bob@example.com")
    derived = repacked.flows[0].derived_from
    assert derived is not None and (derived.signer, derived.local_heals, derived.source) == \
        ("alice@example.com", 1, ref)
    team_d = trusting(tmp_path / "team-d", keys, "bob")  # bob's key now vouches for the healed flow
    assert pull(f"file:{tmp_path / 'repacked'}", team_d).checked.signer == "bob@example.com"

    # promotion: the user's rule, two passing local runs
    portal.set_variant("baseline")
    assert run_webmem("trust", str(on_probation), "--after", "2").returncode == 0
    for n in range(2):
        assert Memory(team_c, agent="heuristic").do(page, task, values, url=url).status == "hit"
        level = (provenance.of_flow(on_probation) or (None, None))[1]
        assert level is not None and level.level == ("probation" if n == 0 else "trusted")
