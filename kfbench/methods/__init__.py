"""Method implementations; each is registered through a preset in the repository's methods/ folder."""
