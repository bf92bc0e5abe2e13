"""A module a child finds only through the PYTHONPATH its parent gave it."""
import sys

print("helper_mod", sys.argv[1:])
