"""kfbench's tests (a package, so that ``tests.helpers`` resolves here and not to another distribution's ``tests``)."""
