"""``theon.tensor.nnet.bn``: Theano's batch normalisation functions."""
from ...frontend.bn import (batch_normalization, batch_normalization_test,
                            batch_normalization_train)
