"""One module per figure (see :mod:`paper_figures.registry`); modules starting with ``_`` are
shared helpers, not figures."""
