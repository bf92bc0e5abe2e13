"""``wasi-lsp bench``: native CPython and every WASI host, side by side, in one run (see :mod:`wasi_lsp.bench`)."""

from __future__ import annotations

from wasi_lsp.bench.orchestrate import PARTS, SIZES
from wasi_lsp.bench.targets import SERVERS


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmark native CPython vs each WASI host, side by side")
    p.add_argument("--hosts", default="wasmtime",
                   help="comma-separated WASI hosts, each HOST or HOST@RUNTIME, e.g. "
                        "wasmtime,node,wasmtime@built:3.11 (a built runtime is measured plain and from a "
                        "snapshot; default: wasmtime)")
    p.add_argument("--runs", type=int, default=10,
                   help="cold-start runs per server and runtime (default 10; fewer only for a smoke test)")
    p.add_argument("--requests", type=int, default=20, help="requests per latency measurement")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="document sizes in lines")
    p.add_argument("--json", dest="json_out", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plot", metavar="PNG", help="also plot latency against document size")
    p.add_argument("--servers", default=",".join(SERVERS), help="cold-start servers (default: minimal,rstls)")
    p.add_argument("--skip", default="",
                   help=f"comma-separated parts to skip: {','.join(PARTS)} (cold: the cold-cache first start)")


def run(options) -> int:
    import asyncio

    from wasi_lsp.bench.orchestrate import bench

    return asyncio.run(bench(options))

