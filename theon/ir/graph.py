"""A graph: the input leaves of a function in order, and its output nodes."""
from dataclasses import dataclass

from .node import toposort


@dataclass(frozen=True)
class Graph:
    """Inputs (``Input`` leaves, in call order) and outputs of a computation.

    Passes map a Graph to a Graph; a pass that changes nothing returns its argument.
    Dead code cannot exist in a Graph: only nodes reachable from ``outputs`` are in it.
    """

    inputs: tuple
    outputs: tuple

    def nodes(self):
        """Every node reachable from the outputs, inputs before their users."""
        return toposort(self.outputs)

    def replace_outputs(self, outputs):
        """This graph with new ``outputs``; ``self`` when they are the same nodes."""
        outputs = tuple(outputs)
        if len(outputs) == len(self.outputs) and all(
                a is b for a, b in zip(outputs, self.outputs)):
            return self
        return Graph(self.inputs, outputs)
