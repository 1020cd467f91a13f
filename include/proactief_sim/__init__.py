"""The test harness of Proactief Gent: MAGDA simulator, synthetic Ghent population, UiTPAS/eBox stand-ins and the
local stack (``bin/run``).

Not part of the product: ``proactief`` never imports it (``tests/project/test_import_direction.py``); the
``proactief`` command finds the harness's commands (``magda-sim``, ``population``, ``demo``) through the
``proactief.cli`` entry-point group.
"""
