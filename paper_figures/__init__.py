"""Every figure of the toolkit, rebuilt from cached results only (never trains).

``python -m paper_figures list | all | NAME``: one script per figure under
:mod:`paper_figures.figures`, registered in :mod:`paper_figures.registry`; one style
(:mod:`paper_figures.style`); the caches they read and the commands that make them
(:mod:`paper_figures.sources`). Nothing imports this package.
"""
