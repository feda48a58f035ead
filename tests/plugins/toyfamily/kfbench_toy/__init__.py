"""A method family that lives outside kfbench (tests/plugins/toyfamily), found through KFBENCH_PLUGINS."""
