"""Conv4Rec: a 1-by-1 convolutional autoencoder for joint implicit and explicit feedback.

The public API: :class:`Conv4RecConfig`, :class:`Conv4RecEstimator`, the :mod:`conv4rec.data`
loaders and the prediction functions of :mod:`conv4rec.predict`.
"""

__version__ = "0.1.0"

from conv4rec.config import Conv4RecConfig
from conv4rec.estimator import Conv4RecEstimator

__all__ = ["Conv4RecConfig", "Conv4RecEstimator", "__version__"]
