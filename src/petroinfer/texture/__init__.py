"""petroinfer.texture: rock textures — grain-orientation statistics and the microboudin palaeopiezometer.

Circular and axial distributions with exact normalisers (von Mises, wrapped Cauchy, cardioid,
Jones–Pewsey, the inverse Batschelet family, a two-component von Mises mixture), maximum-likelihood
fitting with a model table (``OrientationModels``, ``fit_circular``), circular goodness-of-fit tests and
rose diagrams; and the microboudin palaeopiezometer (``MicroboudinModels``): stress-transfer laws,
grain-strength distributions, the Bernoulli/binomial likelihood of boudinaged grains by aspect ratio,
model selection, profile-likelihood intervals of the stress ratio and a power analysis.
"""

from petroinfer.texture._boudin_model import (
    MicroboudinModel,
    cox_elastic_transfer,
    kelly_tyson_transfer,
    viscous_transfer,
)
from petroinfer.texture._circular import (
    Cardioid,
    CircularDistribution,
    InverseBatschelet,
    JonesPewsey,
    UniformCircular,
    VonMises,
    VonMisesMixture,
    WrappedCauchy,
    a1inv,
    ib_log_normaliser,
)
from petroinfer.texture._gof import kuiper_test, watson_u2_test
from petroinfer.texture._plot import rose_diagram
from petroinfer.texture.microboudin import (
    MicroboudinFit,
    MicroboudinModels,
    MicroboudinResult,
    check_microboudin_data,
    default_microboudin_models,
    microboudin_power,
    simulate_microboudins,
)
from petroinfer.texture.orientation import (
    MODEL_NAMES,
    CircularFit,
    OrientationModels,
    OrientationResult,
    check_angles,
    fit_circular,
)

__all__ = [
    "MODEL_NAMES",
    "Cardioid",
    "CircularDistribution",
    "CircularFit",
    "InverseBatschelet",
    "JonesPewsey",
    "MicroboudinFit",
    "MicroboudinModel",
    "MicroboudinModels",
    "MicroboudinResult",
    "OrientationModels",
    "OrientationResult",
    "UniformCircular",
    "VonMises",
    "VonMisesMixture",
    "WrappedCauchy",
    "a1inv",
    "check_angles",
    "check_microboudin_data",
    "cox_elastic_transfer",
    "default_microboudin_models",
    "fit_circular",
    "ib_log_normaliser",
    "kelly_tyson_transfer",
    "kuiper_test",
    "microboudin_power",
    "rose_diagram",
    "simulate_microboudins",
    "viscous_transfer",
    "watson_u2_test",
]
