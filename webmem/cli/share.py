"""`webmem pack`, `push`, `pull` and `trust`: sharing flows between teams (webmem.share), and the provenance
lines `webmem show` prints for a pulled flow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from webmem.cli.console import err, fail, out
from webmem.errors import InputError, WebmemError

STORE_HELP = "the flow store: a folder of flow files (index and statistics in its .webmem/)"
INSECURE_HELP = "talk plain HTTP to the registry (a registry on 127.0.0.1, say)"


def pack(
    flows: Annotated[list[Path], typer.Argument(help="flow files, or store folders (all their flows)")],
    output: Annotated[Path, typer.Option("-o", "--out", help="the bundle folder to write (new or empty)")],
    key: Annotated[Path | None, typer.Option(help="your SSH key to sign with (else $WEBMEM_SIGNING_KEY; none: "
                                                  "unsigned, and a puller takes it on probation)")] = None,
    signer: Annotated[str | None, typer.Option(help="the name you sign as, as others list you in allowed_signers "
                                                    "(else $WEBMEM_SIGNER)")] = None,
) -> None:
    """Bundle flows for others: the flow files, a manifest (each file's sha256, the sites each flow acts on, its
    inputs with secrets named never valued, its track record) and an SSH signature over the manifest."""
    from webmem.share.bundle import pack as make

    key = key or (Path(os.environ["WEBMEM_SIGNING_KEY"]) if os.environ.get("WEBMEM_SIGNING_KEY") else None)
    signer = signer or os.environ.get("WEBMEM_SIGNER") or None
    try:
        manifest = make(flows, output, key=key, signer=signer)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"-o {output}: cannot write the bundle ({exc.strerror or exc})") from None
    how = f"signed with {key}" + (f" as {signer}" if signer else "") if key else "unsigned"
    out.print(f"packed {len(manifest.flows)} flows → {escape(str(output))} [dim]({escape(how)})[/dim]")
    if key is None:
        err.print("[yellow]warning:[/yellow] the bundle is unsigned: whoever pulls it takes its flows on probation",
                  soft_wrap=True)


def push(
    bundle: Annotated[Path, typer.Argument(help="the bundle folder (from `webmem pack`)")],
    ref: Annotated[str, typer.Argument(help="HOST[:PORT]/NAME[:TAG] of an OCI registry, or file:FOLDER")],
    insecure: Annotated[bool, typer.Option(help=INSECURE_HELP)] = False,
) -> None:
    """Push a bundle to an OCI registry (as a webmem artifact) or a folder."""
    from webmem.share import oci

    try:
        where = oci.push(bundle, ref, insecure=insecure)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"{bundle} → {ref}: cannot push the bundle ({exc.strerror or exc})") from None
    out.print(f"pushed {escape(str(bundle))} → {escape(ref)} [dim]({escape(where)})[/dim]")


def pull(
    ref: Annotated[str, typer.Argument(help="HOST[:PORT]/NAME[:TAG] of an OCI registry, or file:FOLDER")],
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    insecure: Annotated[bool, typer.Option(help=INSECURE_HELP)] = False,
    allowed_signers: Annotated[Path | None, typer.Option(help="whose keys you trust, in git's allowed_signers "
                                                             "format (else STORE/.webmem/trust/allowed_signers)")]
    = None,
    into: Annotated[str | None, typer.Option(help="the folder in the store (default shared/NAME)")] = None,
) -> None:
    """Pull a bundle into the store: checked, then stored trusted (signed by a key you list), on probation
    (unsigned or an unknown signer: strict verification, no repair written back) or refused (bad signature,
    altered file, a site not named or not allowed: nothing stored; exit 2)."""
    from webmem.share.install import pull as fetch

    try:
        got = fetch(ref, store, insecure=insecure, allowed_signers=allowed_signers, into=into)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"{store}: cannot store the flows ({exc.strerror or exc})") from None
    level = "trusted" if got.checked.level == "trusted" else "probation"
    colour = "green" if level == "trusted" else "yellow"
    out.print(f"pulled {len(got.flows)} flows → {escape(str(store / got.folder))}: [{colour}]{level}[/{colour}] "
              f"[dim]({escape(got.checked.why)})[/dim]", soft_wrap=True)


def trust(
    flow: Annotated[Path | None, typer.Argument(help="a pulled flow file")] = None,
    after: Annotated[int | None, typer.Option(min=0, help="promote it to trusted after this many passing local "
                                                          "runs (0: now)")] = None,
    probation: Annotated[bool, typer.Option("--probation", help="put it back on probation")] = False,
    store: Annotated[Path | None, typer.Option(help=STORE_HELP + " (with --allow-origin)")] = None,
    allow_origin: Annotated[list[str], typer.Option(help="a site pulled flows may act on (repeatable; once any "
                                                         "is listed, a bundle naming another is refused)")] = [],  # noqa: B006
) -> None:
    """Your trust: promote a pulled flow (now, or after N passing local runs), put it back on probation, or
    list the sites pulled flows may act on."""
    from webmem.cache import stats
    from webmem.share import provenance
    from webmem.share.trust import TrustConfig

    try:
        if allow_origin:
            if store is None:
                raise InputError("--allow-origin needs --store")
            from webmem.flow.secrets_allow import origins

            TrustConfig.allow_origins(store, sorted(origins(allow_origin, "--allow-origin")))
            out.print(f"{escape(str(store))}: pulled flows may act on {escape(', '.join(allow_origin))}")
        if flow is None:
            if not allow_origin:
                raise InputError("name a pulled flow file (or --allow-origin with --store)")
            return
        found = provenance.of_flow(flow)
        if found is None:
            raise InputError(f"{flow}: not a pulled flow (your own flows need no trust)")
        side, prov = found

        def change(p: provenance.Provenance) -> None:
            if probation:
                p.level, p.promote_after, p.promoted_at, p.why = "probation", None, None, "put on probation by you"
            elif after is not None:
                p.promote_after = after
                if p.level == "probation" and p.passes >= after:
                    p.level, p.promoted_at = "trusted", stats.now()
                    p.why = f"promoted by you ({p.passes} passing local runs, {after} asked)"

        if probation or after is not None:
            prov = provenance.update(side, change)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    rule = f"; promoted after {prov.promote_after} passing runs" if prov.promote_after is not None else ""
    out.print(f"{escape(str(flow))}: {prov.level} [dim]({escape(prov.why)}; {prov.passes} passing local runs"
              f"{escape(rule)})[/dim]", soft_wrap=True)


def provenance_lines(flow: Path) -> list[str]:
    """What `webmem show` says of a flow's origin: yours, or pulled from where, signed by whom, at what level."""
    from webmem.share import provenance

    found = provenance.of_flow(flow)
    if found is None:
        return ["provenance: your own (not pulled)"]
    prov = found[1]
    signed = f"signed by {prov.signer or f'an unknown signer, key {prov.key}'}" if prov.key else "unsigned"
    lines = [f"provenance: pulled from {prov.source} on {prov.pulled_at}, {signed}",
             f"trust: {prov.level} ({prov.why}); {prov.passes} passing local runs; may act on "
             f"{', '.join(prov.origins)}"]
    try:
        now = provenance.file_digest(flow)
    except OSError:
        now = prov.current
    if prov.local_heals:
        lines.append(f"healed here {prov.local_heals}x since pulled (not by the signer; `webmem pack` signs it "
                     "with your key)")
    if now != prov.current:
        lines.append("changed here since webmem last wrote it (by hand?)")
    return lines


def register(app: typer.Typer) -> None:
    for command in (pack, push, pull, trust):
        app.command()(command)
