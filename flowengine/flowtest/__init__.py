"""Flow tests: YAML files beside the flows that run them on virtual time with stubs.

``control.test.yaml`` beside ``control.yaml`` gives each test's starting
context, the nodes to stub with canned outputs, the input, how much virtual time
passes, and what must come out where (docs/flow-tests.md). ``run_tests`` runs
them for a command line; the application supplies a ``Harness``.
"""

from flowengine.flowtest.runner import Harness, Result, Summary, run_test, run_tests
from flowengine.flowtest.spec import TEST_FILE_SCHEMA, FlowTest, load_tests, parse_test_file

__all__ = [
    "TEST_FILE_SCHEMA",
    "FlowTest",
    "Harness",
    "Result",
    "Summary",
    "load_tests",
    "parse_test_file",
    "run_test",
    "run_tests",
]
