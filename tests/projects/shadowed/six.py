"""Not the real six: the source copy that must win over the installed one."""
__version__ = "0.0.0+source"
