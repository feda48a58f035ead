"""Small utilities every layer shares: atomic writes, safe loading, images, video, progress, user files, hub,
devices."""
