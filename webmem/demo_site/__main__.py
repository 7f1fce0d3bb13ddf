"""`python -m webmem.demo_site --port 8000 [--variant NAME] [--db PATH]` — serve on 127.0.0.1 only."""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import make_server

from .app import DEMO_PASSWORD, DEMO_USER, create_app
from .server import HOST
from .variants import DEFAULT_VARIANT, VARIANTS


def _parser() -> argparse.ArgumentParser:
    width = max(len(n) for n in VARIANTS)
    listing = "\n".join(f"  {name:<{width}}  {v.description}" for name, v in VARIANTS.items())
    return argparse.ArgumentParser(
        prog="python -m webmem.demo_site",
        description="Acme demo portal for webmem: recorded flows are replayed against DOM variants. "
        f"Binds {HOST} only. Login: {DEMO_USER} / {DEMO_PASSWORD}.",
        epilog="variants (switch at run time with POST /api/variant {\"variant\": NAME}):\n" + listing,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    parser.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--variant", default=DEFAULT_VARIANT, choices=list(VARIANTS), metavar="NAME",
                        help="initial variant (default: %(default)s); see the list below")
    parser.add_argument("--db", default=None, metavar="PATH", help="SQLite file (default: a temp file)")
    args = parser.parse_args(argv)
    server = make_server(HOST, args.port, create_app(args.db, args.variant), threaded=True)
    print(f"Acme portal ({args.variant}) at http://{HOST}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
