"""Single source of the package version (read from the installed metadata)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("petroinfer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
