"""The library's version, kept in this one place: the package, its install and the notebooks'
install line (``pip install alexnet-lib==VERSION``) all read it from here."""

__version__ = "0.3.0"
