"""Every figure of the toolkit, rebuilt from cached results only (never trains)."""
