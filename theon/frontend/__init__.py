"""What users touch: variables, constructors, ``function``, printing."""
from . import constructors, elementwise, indexing, linalg, printing, reduce, shape
from .function import CompileReport, Function, MissingInputError, UnusedInputError, function
from .variable import TensorType, Variable, as_tensor_variable, constant
from .shared import SharedVariable, shared
