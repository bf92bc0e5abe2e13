# Imports at the top what WASI lacks: the whole module cannot be collected.
import ctypes


def test_ctypes_sizeof():
    assert ctypes.sizeof(ctypes.c_int) == 4
