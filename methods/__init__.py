"""avbench's built-in fingerprinting methods.

Registered through the ``avbench`` entry-point group like any third-party plugin.
One method per module; this module only lists them (lazily: ``factory`` names the
class, so torch is imported only for the method a run selects).

The F5C and ResNet18 families arrive with the main-job issue (#4) and the
landmark baselines with #5; until then the list is empty and runs use methods
from other plugins (see the README, "Writing a method plugin").
"""

from avbench.hookspecs import hookimpl
from avbench.specs import MethodSpec

BUILTIN_METHODS: list[MethodSpec] = []


@hookimpl
def avbench_register_methods() -> list[MethodSpec]:
    return list(BUILTIN_METHODS)
