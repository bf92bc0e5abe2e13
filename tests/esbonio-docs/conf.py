project = "Esbonio in WASI"
extensions: list = []
exclude_patterns = ["_build"]
