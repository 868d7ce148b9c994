# The assignment's notebooks are not chapters: nbval must not collect them from `pytest` (testpaths
# includes book/). The master notebook has no committed outputs to compare, and it trains into its own
# folder; tests/test_assignment.py runs it end to end instead, through otter assign and otter run.
collect_ignore_glob = ["*.ipynb"]
