"""NanGuardMode's runner: the first step whose float output holds a NaN, an infinity or a
huge value stops the call, and the error names that step.

The function's float inputs are checked before the first step, then every step's float
outputs right after it, loop bodies and branch sides step by step too.  Integer and
boolean arrays cannot hold NaN or infinities and are not checked.
"""
import numpy as np

from .checking import CheckingRunner
from .stepwise import output_slots

BIG = 1e10  # Theano's threshold for big_is_error


class NanGuardError(FloatingPointError):
    """A value checked by NanGuardMode is NaN, infinite or huge."""


class NanGuardRunner(CheckingRunner):
    """Runs a function as NanGuardMode does (see the module's docstring).

    Parameters
    ----------
    executable : Executable
    nan_is_error, inf_is_error, big_is_error : bool
        What counts as bad: NaN; +inf or -inf; a finite value whose magnitude is above
        ``BIG`` (1e10).
    output_labels : sequence of str, optional
        How messages name each output of the function.
    check_inputs : bool
        Check the inputs before the first step (False for loop bodies and branch sides:
        their inputs were checked as outputs of the steps that made them).
    """

    def __init__(self, executable, nan_is_error, inf_is_error, big_is_error,
                 output_labels=None, check_inputs=True):
        self.flags = (nan_is_error, inf_is_error, big_is_error)
        super().__init__(executable, output_labels)
        self.check_inputs = check_inputs

    def nested(self, executable):
        return NanGuardRunner(executable, *self.flags, check_inputs=False)

    def run(self, values):
        if self.check_inputs:
            for position in range(self.executable.n_inputs):
                problem = self.bad_values(values[position])
                if problem is not None:
                    name = self.executable.input_names[position]
                    ttype = self.schedule.input_types[position]
                    raise NanGuardError(f"NanGuardMode: input {position} ('{name}', {ttype}) "
                                        f"holds bad values: {problem}")
        return super().run(values)

    def after_step(self, index, call, values):
        for position, slot in enumerate(output_slots(call)):
            problem = self.bad_values(values[slot])
            if problem is not None:
                raise NanGuardError(f"NanGuardMode: {self.where_step(index)} produced bad "
                                    f"values in its {self.describe_output(slot, position)}: "
                                    f"{problem}")

    def bad_values(self, array):
        """None when ``array`` holds nothing this mode rejects; else what it holds: '2 NaN
        and 1 inf among 6 elements, the first at index (0, 1)'."""
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc":
            return None
        nan_is_error, inf_is_error, big_is_error = self.flags
        # one pass for the common case: a finite array has nothing to report but big values
        if not big_is_error and np.isfinite(array).all():
            return None
        checks = []
        if nan_is_error:
            checks.append(("NaN", "NaN", np.isnan(array)))
        if inf_is_error:
            checks.append(("inf", "inf", np.isinf(array)))
        if big_is_error:
            with np.errstate(invalid="ignore"):
                huge = np.isfinite(array) & (np.abs(array) > BIG)
            checks.append((f"value of magnitude above {BIG:g}",
                           f"values of magnitude above {BIG:g}", huge))
        bad = np.zeros(array.shape, bool)
        parts = []
        for one, several, found in checks:
            count = int(found.sum())
            if count:
                parts.append(f"{count} {one if count == 1 else several}")
                bad |= found
        if not parts:
            return None
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{' and '.join(parts)} among {array.size} element"
                f"{'' if array.size == 1 else 's'}, the first at index {index}")
