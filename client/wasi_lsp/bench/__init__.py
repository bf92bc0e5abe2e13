"""``wasi-lsp bench``: native CPython and every WASI host, side by side, in one run.

Absolute times on a shared machine are noise; ratios taken in the same run are
not. Every figure is therefore printed next to native's and as a ratio to it.

- :mod:`.targets`: what is measured (native, each host and runtime, snapshots);
- :mod:`.measure`: driving the servers with pygls' own LanguageClient, as an editor would;
- :mod:`.memory`: reading memory from /proc;
- :mod:`.orchestrate`: the run (warm-up, round-robin starts, cold caches);
- :mod:`.report`: tables and the plot.

The command itself is :mod:`wasi_lsp.commands.bench`.
"""
